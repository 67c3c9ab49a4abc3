package fallback_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/fallback"
	"github.com/keel-go/keel/timeout"
)

// A fallback answers only the errors that mean "unavailable": here an open
// breaker or a timeout get yesterday's rate, while an invalid currency is
// still an error for the caller.
func ExampleOn() {
	rates, err := fallback.New(fallback.Config[float64]{
		Name: "fx-rates",
		When: fallback.On(breaker.ErrOpen, timeout.ErrExceeded),
		Func: func(ctx context.Context, err error) (float64, error) {
			return 1.0842, nil // yesterday's rate, from a local copy
		},
	})
	if err != nil {
		panic(err)
	}
	b, _ := breaker.New(breaker.Config{Name: "fx-provider"})
	b.Open() // the provider is isolated by an operator

	rate, err := fallback.Do(context.Background(), rates, func(ctx context.Context) (float64, error) {
		return breaker.Do(ctx, b, func(ctx context.Context) (float64, error) { return 1.0851, nil })
	})
	fmt.Println(rate, err)

	invalid := errors.New("fx: unknown currency XXX")
	_, err = fallback.Do(context.Background(), rates, func(ctx context.Context) (float64, error) { return 0, invalid })
	fmt.Println(err)
	// Output:
	// 1.0842 <nil>
	// fx: unknown currency XXX
}
