package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/keel-go/keel/breaker"
)

func ExampleBreaker_Do() {
	b, err := breaker.New(breaker.Config{
		Name:                "payments",
		ConsecutiveFailures: 3,
		OpenDuration:        30 * time.Second,
		OnStateChange: []func(breaker.StateChange){func(c breaker.StateChange) {
			fmt.Printf("%s: %s -> %s\n", c.Name, c.From, c.To)
		}},
	})
	if err != nil {
		panic(err)
	}
	charge := func(context.Context) error { return errors.New("payments: connection refused") }
	for i := 1; i <= 4; i++ {
		err := b.Do(context.Background(), charge)
		if errors.Is(err, breaker.ErrOpen) {
			fmt.Printf("call %d: rejected without calling payments\n", i)
			continue
		}
		fmt.Printf("call %d: %v\n", i, err)
	}
	// Output:
	// call 1: payments: connection refused
	// call 2: payments: connection refused
	// payments: closed -> open
	// call 3: payments: connection refused
	// call 4: rejected without calling payments
}

// A rate-based breaker: opens when half of the last 20 calls failed or took
// longer than 2s, and lets 3 probes through at once after a break that doubles
// each time the dependency is still down (30s, 60s, 120s, capped at 5m).
func ExampleConfig() {
	_, err := breaker.New(breaker.Config{
		Name:              "reports-db",
		FailureRate:       0.5,
		SlowCallRate:      0.5,
		SlowCallDuration:  2 * time.Second,
		WindowSize:        20,
		MinimumCalls:      10,
		HalfOpenProbes:    3,
		HalfOpenSuccesses: 3,
		BreakDuration: func(openCount int) time.Duration {
			return min(30*time.Second<<min(openCount-1, 4), 5*time.Minute) // min: no shift overflow
		},
	})
	fmt.Println(err)
	// Output: <nil>
}

// The two-step API, for code that cannot be wrapped in a function.
func ExampleBreaker_Allow() {
	b, err := breaker.New(breaker.Config{Name: "search"})
	if err != nil {
		panic(err)
	}
	done, err := b.Allow()
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	var callErr error // ... make the call, however it is shaped ...
	done(callErr)
	fmt.Println(b.State())
	// Output: closed
}

// One breaker per host for an HTTP client.
func ExampleNewTransport() {
	tr, err := breaker.NewTransport(breaker.TransportConfig{
		Breaker: breaker.Config{Name: "partners", FailureRate: 0.5, OpenDuration: 10 * time.Second},
	})
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	_ = client // client.Get("https://partner.example/api/...") breaks per host
	fmt.Println("ready")
	// Output: ready
}
