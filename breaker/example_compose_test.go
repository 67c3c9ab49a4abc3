package breaker_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/retry"
)

// The recommended composition: retry outside, breaker inside. Each attempt
// goes through the breaker, so the breaker sees every real call, and a
// rejection tells the retry (through OpenError.RetryAfter) when the break
// ends. The other way round, every retry of one call would count as a new
// failure and open the breaker early.
func Example_retryAroundBreaker() {
	var hits atomic.Int32
	inventory := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= 2 { // the first two requests fail
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "42 widgets")
	}))
	defer inventory.Close()

	b, err := breaker.New(breaker.Config{Name: "inventory", FailureRate: 0.5, MinimumCalls: 10, OpenDuration: 5 * time.Second})
	if err != nil {
		panic(err)
	}
	policy, err := retry.New(retry.Config{
		Name:        "inventory",
		MaxAttempts: 4,
		Backoff:     retry.Exponential{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond, Jitter: 0.5},
		OnRetry: func(attempt int, err error, _ time.Duration) {
			fmt.Printf("attempt %d: %v\n", attempt, err)
		},
	})
	if err != nil {
		panic(err)
	}

	get := func(ctx context.Context) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, inventory.URL, nil)
		if err != nil {
			return "", retry.Permanent(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 { // a server error is a failure for the breaker and the retry
			return "", fmt.Errorf("inventory: %s", resp.Status)
		}
		return string(body), err
	}

	stock, err := retry.Do(context.Background(), policy, func(ctx context.Context) (string, error) {
		return breaker.Do(ctx, b, get)
	})
	fmt.Println(stock, err, "| breaker:", b.State())
	// Output:
	// attempt 1: inventory: 503 Service Unavailable
	// attempt 2: inventory: 503 Service Unavailable
	// 42 widgets <nil> | breaker: closed
}
