package timeout_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keel-go/keel/timeout"
)

func ExampleDo() {
	p, err := timeout.New(timeout.Config{Name: "inventory", Timeout: 50 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	stock, err := timeout.Do(context.Background(), p, func(ctx context.Context) (int, error) {
		select { // a dependency that takes a second to answer
		case <-time.After(time.Second):
			return 42, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	fmt.Println(stock, err)
	fmt.Println("a timeout:", errors.Is(err, timeout.ErrExceeded))
	fmt.Println("the caller's deadline:", errors.Is(err, context.DeadlineExceeded))
	// Output:
	// 0 timeout: "inventory" exceeded 50ms
	// a timeout: true
	// the caller's deadline: false
}
