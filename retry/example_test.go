package retry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/keel-go/keel/retry"
)

func ExamplePolicy_Do() {
	p, err := retry.New(retry.Config{
		Name:        "inventory",
		MaxAttempts: 3,
		Backoff:     retry.Constant{Delay: 10 * time.Millisecond},
		OnRetry: func(attempt int, err error, _ time.Duration) {
			fmt.Printf("attempt %d failed: %v\n", attempt, err)
		},
	})
	if err != nil {
		panic(err)
	}
	calls := 0
	err = p.Do(context.Background(), func(ctx context.Context) error {
		calls++
		if calls < 3 {
			return errors.New("connection reset")
		}
		return nil
	})
	fmt.Println("err:", err)
	// Output:
	// attempt 1 failed: connection reset
	// attempt 2 failed: connection reset
	// err: <nil>
}

// Retrying an HTTP call: 503 and 429 are retried (honouring Retry-After),
// other 4xx are answers, and dropped responses are drained and closed.
func ExampleClassifyHTTP() {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "warming up", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "42 widgets")
	}))
	defer srv.Close()

	p, err := retry.New(retry.Config{
		Name:          "inventory",
		Classifier:    retry.ClassifyHTTP,
		Backoff:       retry.Constant{Delay: 10 * time.Millisecond},
		MaxRetryAfter: 5 * time.Second, // never wait longer than this for a server's Retry-After
	})
	if err != nil {
		panic(err)
	}
	resp, err := retry.Do(context.Background(), p, func(ctx context.Context) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		if err != nil {
			return nil, retry.Permanent(err)
		}
		return http.DefaultClient.Do(req)
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body), "after", hits.Load(), "requests")
	// Output: 200 42 widgets after 2 requests
}

// apiError is how a client library might report an HTTP failure.
type apiError struct {
	Status int
	Header http.Header
}

func (e *apiError) Error() string { return "api: status " + strconv.Itoa(e.Status) }

// A client library that reports an HTTP failure as an error carrying the
// status and header: ClassifyStatus applies ClassifyHTTP's rules to them
// without a fake *http.Response.
func ExampleClassifyStatus() {
	classify := func(_ any, err error) retry.Decision {
		var e *apiError
		if errors.As(err, &e) {
			return retry.ClassifyStatus(e.Status, e.Header)
		}
		return retry.Decision{Verdict: retry.Neutral}
	}
	for _, e := range []*apiError{
		{Status: 503, Header: http.Header{"Retry-After": {"2"}}},
		{Status: 404},
	} {
		d := classify(nil, e)
		fmt.Println(e.Status, d.Verdict, d.After)
	}
	// Output:
	// 503 retry 2s
	// 404 stop 0s
}

func ExampleBudget() {
	// One budget for every policy that calls the same dependency.
	budget, err := retry.NewBudget(retry.BudgetConfig{MaxTokens: 10, TokenRatio: 0.1})
	if err != nil {
		panic(err)
	}
	p, err := retry.New(retry.Config{MaxAttempts: 3, Backoff: retry.Constant{}, Budget: budget})
	if err != nil {
		panic(err)
	}
	attempts := 0
	for range 100 { // the dependency is down
		_ = p.Do(context.Background(), func(context.Context) error { attempts++; return errors.New("down") })
	}
	fmt.Println("attempts for 100 calls:", attempts)
	// Output: attempts for 100 calls: 103
}
