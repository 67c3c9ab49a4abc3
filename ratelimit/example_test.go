package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/keel-go/keel/ratelimit"
)

func ExampleKeyed() {
	perKey, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{
		Name: "api", Limit: 100, Period: time.Minute, Burst: 3,
	})
	if err != nil {
		panic(err)
	}
	defer perKey.Close()

	for i := range 4 {
		fmt.Println("alice", i, perKey.Allow("alice"))
	}
	fmt.Println("bob", perKey.Allow("bob"))
	// Output:
	// alice 0 true
	// alice 1 true
	// alice 2 true
	// alice 3 false
	// bob true
}

func ExampleLimiter_Do() {
	limiter, err := ratelimit.New(ratelimit.Config{Name: "reports", Limit: 1, Period: time.Hour})
	if err != nil {
		panic(err)
	}
	defer limiter.Close()

	report := func(context.Context) error { return nil }
	fmt.Println(limiter.Do(context.Background(), report))

	err = limiter.Do(context.Background(), report)
	var limited *ratelimit.LimitedError
	if errors.As(err, &limited) {
		fmt.Println(errors.Is(err, ratelimit.ErrLimited), limited.Limiter, limited.RetryAfter.Round(time.Minute))
	}
	// Output:
	// <nil>
	// true reports 1h0m0s
}

func ExampleBulkhead() {
	bulkhead, err := ratelimit.NewBulkhead(ratelimit.BulkheadConfig{
		Name: "reports-db", MaxInFlight: 1, MaxQueue: 0,
	})
	if err != nil {
		panic(err)
	}
	defer bulkhead.Close()

	ctx := context.Background()
	_ = bulkhead.Do(ctx, func(ctx context.Context) error {
		// While this call holds the only slot, another is shed at once.
		fmt.Println(bulkhead.Do(ctx, func(context.Context) error { return nil }))
		return nil
	})
	// Output:
	// ratelimit: "reports-db" limited
}

func ExampleMiddleware() {
	perKey, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Name: "api", Limit: 100, Period: time.Minute, Burst: 1})
	if err != nil {
		panic(err)
	}
	defer perKey.Close()
	mw, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{
		Limiter: perKey,
		Key:     ratelimit.APIKey("X-API-Key"),
	})
	if err != nil {
		panic(err)
	}
	handler := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "order list")
	}))

	for range 2 {
		req := httptest.NewRequest(http.MethodGet, "/orders", nil)
		req.Header.Set("X-API-Key", "k_live_123")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		fmt.Printf("%d RateLimit-Policy: %s RateLimit: %s Retry-After: %q\n", rec.Code,
			rec.Header().Get("RateLimit-Policy"), rec.Header().Get("RateLimit"), rec.Header().Get("Retry-After"))
	}
	// Output:
	// 200 RateLimit-Policy: "api";q=100;w=60 RateLimit: "api";r=0;t=1 Retry-After: ""
	// 429 RateLimit-Policy: "api";q=100;w=60 RateLimit: "api";r=0;t=1 Retry-After: "1"
}

func ExampleKeyedConfig_windows() {
	// 3 per second and 5 per minute, both checked on every call.
	perUser, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{Name: "api", Windows: []ratelimit.Window{
		{Name: "per-second", Limit: 3, Period: time.Second},
		{Name: "per-minute", Limit: 5, Period: time.Minute},
	}})
	if err != nil {
		panic(err)
	}
	defer perUser.Close()

	d, _ := perUser.TakeN(context.Background(), "alice", 3) // an expensive call costs 3
	fmt.Println(d.Allowed, d.Remaining, d.Policies[0].Policy)
	d, _ = perUser.TakeN(context.Background(), "alice", 1)
	fmt.Println(d.Allowed, d.Violated("api"))
	// Output:
	// true 0 per-second
	// false [per-second]
}
