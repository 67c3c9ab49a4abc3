package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/fallback"
	"github.com/keel-go/keel/resilience"
	"github.com/keel-go/keel/retry"
	"github.com/keel-go/keel/timeout"
)

// How to choose the order: fallback outermost, an overall timeout, the retry,
// the breaker, and the per-attempt timeout innermost. With refuses an order
// that defeats one of its policies and says why.
func Example_chooseTheOrder() {
	gateway, _ := breaker.New(breaker.Config{Name: "gateway", ConsecutiveFailures: 5})
	retries, _ := retry.New(retry.Config{Name: "gateway", MaxAttempts: 3, Backoff: retry.Constant{Delay: 10 * time.Millisecond}})
	overall, _ := timeout.New(timeout.Config{Name: "charge", Timeout: 5 * time.Second})
	attempt, _ := timeout.New(timeout.Config{Name: "attempt", Timeout: 100 * time.Millisecond})
	pending, _ := fallback.New(fallback.Config[string]{
		Name:  "pending",
		Value: "pending", // accept the order; settle the payment later
		When:  fallback.On(breaker.ErrOpen, timeout.ErrExceeded),
	})

	p, err := resilience.With(pending, overall, retries, gateway, attempt)
	fmt.Println(p, err)

	// The breaker outside the retry: rejected, with the reason.
	_, err = resilience.With(gateway, retries)
	var order *resilience.OrderError
	fmt.Println(errors.As(err, &order), order.Rule)

	calls := 0
	status, err := resilience.Do(context.Background(), p, func(ctx context.Context) (string, error) {
		calls++
		if calls == 1 { // the first attempt hangs until its timeout
			<-ctx.Done()
			return "", ctx.Err()
		}
		return "charged", nil
	})
	fmt.Println(status, err, calls)
	// Output:
	// fallback(pending) → timeout(charge, 5s) → retry(gateway) → breaker(gateway) → timeout(attempt, 100ms) <nil>
	// true a retry inside a breaker hides every failed attempt but the last from the breaker, and is not told when the break ends: put the retry outside the breaker
	// charged <nil> 2
}
