package adaptive_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/keel-go/keel/ratelimit"
	"github.com/keel-go/keel/ratelimit/adaptive"
)

// A limiter in front of a backend call: the limit starts at InitialLimit
// and moves with the latency of the calls it admits. Low-priority work is
// refused first.
func Example() {
	l, err := adaptive.New(adaptive.Config{Name: "inventory", InitialLimit: 10})
	if err != nil {
		panic(err)
	}
	ctx := adaptive.WithPriority(context.Background(), adaptive.Low)

	// Eight Low calls in flight fill Low's share (0.8 of 10).
	var held []adaptive.Permit
	for range 8 {
		p, _ := l.Acquire(ctx)
		held = append(held, p)
	}
	err = l.Do(ctx, func(context.Context) error { return nil })
	fmt.Println("low:", errors.Is(err, ratelimit.ErrLimited))
	err = l.Do(adaptive.WithPriority(ctx, adaptive.Critical), func(context.Context) error { return nil })
	fmt.Println("critical:", err)
	for _, p := range held {
		p.Release()
	}
	// Output:
	// low: true
	// critical: <nil>
}

// Wrap sheds requests with 503 and a problem body; RequestPriority and
// RequestTenant classify them.
func ExampleLimiter_Wrap() {
	l, err := adaptive.New(adaptive.Config{
		Name:         "api",
		InitialLimit: 1,
		RequestPriority: func(r *http.Request) adaptive.Priority {
			if r.URL.Path == "/healthz" {
				return adaptive.Critical
			}
			return adaptive.Normal
		},
		RequestTenant: func(r *http.Request) string { return r.Header.Get("X-Org") },
	})
	if err != nil {
		panic(err)
	}
	h := l.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// While this request runs, the one slot is taken.
		rec := httptest.NewRecorder()
		l.Wrap(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/orders", nil))
		fmt.Println(rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("Content-Type"))
		w.WriteHeader(http.StatusOK)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	fmt.Println(rec.Code)
	// Output:
	// 503 1 application/problem+json
	// 200
}
