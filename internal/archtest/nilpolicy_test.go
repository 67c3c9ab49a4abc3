package archtest_test

import (
	"context"
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
