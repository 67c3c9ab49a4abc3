package hedge_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/hedge"
	"github.com/keel-go/keel/retry"
)

// A replica that stalls on one request in fifty: the hedge, sent after
// 20ms, answers instead, and the stalled attempt is cancelled.
func ExampleDo() {
	budget, _ := retry.NewBudget(retry.BudgetConfig{}) // shared with the dependency's retry policy
	b, _ := breaker.New(breaker.Config{Name: "search"})
	p, err := hedge.New(hedge.Config{
		Name:    "search",
		Delay:   20 * time.Millisecond,
		Budget:  budget, // each hedge costs a token: no extra load while the dependency struggles
		Breaker: b,      // and no hedge while its breaker is not closed
	})
	if err != nil {
		panic(err)
	}
	var attempts atomic.Int32
	search := func(ctx context.Context) (string, error) {
		latency := 2 * time.Millisecond
		if attempts.Add(1) == 1 {
			latency = time.Second // the first attempt hits the stalled replica
		}
		select {
		case <-time.After(latency):
			return "3 hits", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	start := time.Now()
	hits, err := hedge.Do(context.Background(), p, search)
	fmt.Println(hits, err, "| attempts:", attempts.Load(), "| under 500ms:", time.Since(start) < 500*time.Millisecond)
	// Output:
	// 3 hits <nil> | attempts: 2 | under 500ms: true
}
