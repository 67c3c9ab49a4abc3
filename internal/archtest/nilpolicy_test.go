package archtest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/crypto/mask"
	"github.com/keel-go/keel/fallback"
	"github.com/keel-go/keel/hedge"
	"github.com/keel-go/keel/idempotency"
	"github.com/keel-go/keel/ratelimit"
	"github.com/keel-go/keel/ratelimit/adaptive"
	"github.com/keel-go/keel/resilience"
	"github.com/keel-go/keel/retry"
	"github.com/keel-go/keel/timeout"
)

// A nil policy handed to an execution entry point is a wiring mistake (a
// field never set, a constructor's error ignored). The house rule is an
// error that names the type and its constructor, with the call not made;
// before it, each of these panicked with a nil-pointer dereference.
func TestNilPolicyIsAnErrorNotAPanic(t *testing.T) {
	ctx := context.Background()
	calls := 0
	fn := func(context.Context) error { calls++; return nil }
	fnT := func(context.Context) (int, error) { calls++; return 1, nil }
	cases := []struct {
		name, want string
		do         func() error
	}{
		{"breaker.Breaker.Do", "breaker.New", func() error { return (*breaker.Breaker)(nil).Do(ctx, fn) }},
		{"breaker.Do", "breaker.New", func() error { _, err := breaker.Do(ctx, nil, fnT); return err }},
		{"ratelimit.Limiter.Do", "ratelimit.New", func() error { return (*ratelimit.Limiter)(nil).Do(ctx, fn) }},
		{"ratelimit.Bulkhead.Do", "ratelimit.NewBulkhead", func() error { return (*ratelimit.Bulkhead)(nil).Do(ctx, fn) }},
		{"adaptive.Limiter.Do", "adaptive.New", func() error { return (*adaptive.Limiter)(nil).Do(ctx, fn) }},
		{"adaptive.Do", "adaptive.New", func() error { _, err := adaptive.Do(ctx, nil, fnT); return err }},
		{"adaptive.Limiter.Acquire", "adaptive.New", func() error { _, err := (*adaptive.Limiter)(nil).Acquire(ctx); return err }},
		{"retry.Policy.Do", "retry.New", func() error { return (*retry.Policy)(nil).Do(ctx, fn) }},
		{"retry.Do", "retry.New", func() error { _, err := retry.Do(ctx, nil, fnT); return err }},
		{"fallback.Policy.Do", "fallback.New", func() error { return (*fallback.Policy[int])(nil).Do(ctx, fn) }},
		{"fallback.Do", "fallback.New", func() error { _, err := fallback.Do(ctx, nil, fnT); return err }},
		{"hedge.Policy.Do", "hedge.New", func() error { return (*hedge.Policy)(nil).Do(ctx, fn) }},
		{"hedge.Do", "hedge.New", func() error { _, err := hedge.Do(ctx, nil, fnT); return err }},
		{"timeout.Policy.Do", "timeout.New", func() error { return (*timeout.Policy)(nil).Do(ctx, fn) }},
		{"timeout.Do", "timeout.New", func() error { _, err := timeout.Do(ctx, nil, fnT); return err }},
		{"resilience.Pipeline.Do", "resilience.New", func() error { return (*resilience.Pipeline)(nil).Do(ctx, fn) }},
		{"resilience.Do", "resilience.New", func() error { _, err := resilience.Do(ctx, nil, fnT); return err }},
		{"idempotency.Manager.Do", "idempotency.New", func() error {
			_, _, err := (*idempotency.Manager)(nil).Do(ctx, "scope", "key", nil,
				func(context.Context) (idempotency.Outcome, error) { calls++; return idempotency.Outcome{}, nil })
			return err
		}},
		{"mask.View", "mask.NewPolicy", func() error { _, err := mask.View(ctx, nil, struct{}{}); return err }},
		{"ratelimit.Do(nil Guard)", "ratelimit.New", func() error { _, err := ratelimit.Do(ctx, nil, fnT); return err }},
		{"ratelimit.Do(typed nil Guard)", "ratelimit.NewBulkhead", func() error {
			_, err := ratelimit.Do(ctx, (*ratelimit.Bulkhead)(nil), fnT)
			return err
		}},
		{"ratelimit.Limiter.Wait", "ratelimit.New", func() error { return (*ratelimit.Limiter)(nil).Wait(ctx) }},
		{"ratelimit.Bulkhead.Acquire", "ratelimit.NewBulkhead", func() error { return (*ratelimit.Bulkhead)(nil).Acquire(ctx) }},
		{"breaker.Breaker.Allow", "breaker.New", func() error { _, err := (*breaker.Breaker)(nil).Allow(); return err }},
		{"idempotency.Manager.Begin", "idempotency.New", func() error {
			_, err := (*idempotency.Manager)(nil).Begin(ctx, "scope", "key", nil)
			return err
		}},
		{"idempotency.Manager.Complete", "idempotency.New", func() error {
			return (*idempotency.Manager)(nil).Complete(ctx, idempotency.Lease{}, idempotency.Outcome{})
		}},
		{"idempotency.Manager.Release", "idempotency.New", func() error {
			return (*idempotency.Manager)(nil).Release(ctx, idempotency.Lease{})
		}},
		{"ratelimit.Bulkhead.Wrap", "ratelimit.NewBulkhead", func() error {
			return serveOnce((*ratelimit.Bulkhead)(nil).Wrap(handler(&calls)))
		}},
		{"adaptive.Limiter.Wrap", "adaptive.New", func() error { return serveOnce((*adaptive.Limiter)(nil).Wrap(handler(&calls))) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panicked: %v", r)
					}
				}()
				err = c.do()
			}()
			if err == nil {
				t.Fatal("no error for a nil policy")
			}
			if !strings.Contains(err.Error(), "nil") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q should say the policy is nil and name %s", err, c.want)
			}
		})
	}
	if calls != 0 {
		t.Fatalf("the wrapped function ran %d times behind a nil policy", calls)
	}
}

// The entry points with no error to return fail closed: a nil limiter
// admits nothing, a nil masking policy shows nothing.
func TestNilPolicyWithoutAnErrorFailsClosed(t *testing.T) {
	var l *ratelimit.Limiter
	if l.Allow() {
		t.Error("a nil *ratelimit.Limiter allowed a call")
	}
	if d := l.Take(); d.Allowed {
		t.Error("a nil *ratelimit.Limiter's Take allowed a call")
	}
	var p *mask.Policy
	out := p.Map(context.Background(), map[string]any{"email": "someone@example.com"})
	if _, shown := out["email"]; shown || out["map"] != mask.Redacted {
		t.Errorf("a nil *mask.Policy showed %v", out)
	}
}

// handler counts the requests that reach it.
func handler(calls *int) http.Handler {
	return http.HandlerFunc(func(http.ResponseWriter, *http.Request) { *calls++ })
}

// serveOnce serves one request through h and returns its answer as an error
// when it is not a success, so that a misconfigured handler's 500 and its
// text are checked like the other entry points' errors.
func serveOnce(h http.Handler) error {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code == http.StatusInternalServerError {
		return errors.New(rec.Body.String())
	}
	if rec.Code >= 300 {
		return fmt.Errorf("status %d, not the 500 of a misconfigured handler: %s", rec.Code, rec.Body.String())
	}
	return nil
}
