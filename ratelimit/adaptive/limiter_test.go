package adaptive_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/ratelimit"
	"github.com/keel-go/keel/ratelimit/adaptive"
)

// fixed returns a limiter whose limit stays at limit for the test: no
// window can close before a million calls complete.
func fixed(t *testing.T, limit int, cfg adaptive.Config) *adaptive.Limiter {
	t.Helper()
	cfg.InitialLimit, cfg.MinSamples = limit, 1_000_000
	l, err := adaptive.New(cfg)
	require.NoError(t, err)
	return l
}

func acquireN(t *testing.T, l *adaptive.Limiter, ctx context.Context, n int) []adaptive.Permit {
	t.Helper()
	var ps []adaptive.Permit
	for i := range n {
		p, err := l.Acquire(ctx)
		require.NoError(t, err, "call %d", i)
		ps = append(ps, p)
	}
	return ps
}

func TestPriorityClassesFillTheirShareOfTheLimit(t *testing.T) {
	l := fixed(t, 10, adaptive.Config{})
	bg := context.Background()
	low := adaptive.WithPriority(bg, adaptive.Low)
	crit := adaptive.WithPriority(bg, adaptive.Critical)

	held := acquireN(t, l, low, 8) // Low may fill 0.8 of 10
	_, err := l.Acquire(low)
	require.ErrorIs(t, err, ratelimit.ErrLimited)
	held = append(held, acquireN(t, l, bg, 1)...) // Normal may fill 0.9
	_, err = l.Acquire(bg)
	require.ErrorIs(t, err, ratelimit.ErrLimited)
	held = append(held, acquireN(t, l, crit, 1)...) // Critical all of it
	_, err = l.Acquire(crit)
	var le *ratelimit.LimitedError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, "default", le.Limiter)
	assert.Equal(t, 10, l.InFlight())

	for _, p := range held {
		p.Release()
	}
	assert.Zero(t, l.InFlight())
	// A priority outside the three classes counts as the nearest one.
	acquireN(t, l, adaptive.WithPriority(bg, adaptive.Priority(-100)), 8)
	_, err = l.Acquire(adaptive.WithPriority(bg, adaptive.Priority(-100)))
	assert.ErrorIs(t, err, ratelimit.ErrLimited)
}

func TestPriorityString(t *testing.T) {
	assert.Equal(t, "low", adaptive.Low.String())
	assert.Equal(t, "normal", adaptive.Normal.String())
	assert.Equal(t, "critical", adaptive.Critical.String())
	assert.Equal(t, "Priority(7)", adaptive.Priority(7).String())
	assert.Equal(t, adaptive.Normal, adaptive.PriorityFrom(context.Background()))
}

func TestOneTenantCannotTakeEveryPermit(t *testing.T) {
	l := fixed(t, 10, adaptive.Config{}) // TenantShare 0.5: 5 each
	bg := context.Background()
	a := adaptive.WithTenant(bg, "acme")
	held := acquireN(t, l, a, 5)
	_, err := l.Acquire(a)
	require.ErrorIs(t, err, ratelimit.ErrLimited)
	b := acquireN(t, l, adaptive.WithTenant(bg, "globex"), 4) // the limit's Normal share (9) is what stops globex now
	_, err = l.Acquire(adaptive.WithTenant(bg, "globex"))
	require.ErrorIs(t, err, ratelimit.ErrLimited)
	held[0].Release()
	acquireN(t, l, a, 1) // a slot of acme's own came back
	for _, p := range b {
		p.Release()
	}
	acquireN(t, l, bg, 4) // calls without a tenant are held only by the limit
}

func TestTenantShareOfOneMeansNoCap(t *testing.T) {
	l := fixed(t, 10, adaptive.Config{TenantShare: 1})
	acquireN(t, l, adaptive.WithTenant(adaptive.WithPriority(context.Background(), adaptive.Critical), "acme"), 10)
}

func TestDoubleReleaseIsLoggedAndIgnored(t *testing.T) {
	var logs bytes.Buffer
	l := fixed(t, 4, adaptive.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	p, err := l.Acquire(context.Background())
	require.NoError(t, err)
	p.Release()
	p.Release()
	assert.Zero(t, l.InFlight())
	assert.Contains(t, logs.String(), "released twice")
	// With another call in flight a second Release cannot be told from the
	// other's, but a tenant's count still catches it.
	ctx := adaptive.WithTenant(context.Background(), "acme")
	q, err := l.Acquire(ctx)
	require.NoError(t, err)
	other := acquireN(t, l, context.Background(), 1)
	q.Release()
	q.Drop()
	assert.Equal(t, 1, l.InFlight())
	other[0].Release()
	adaptive.Permit{}.Release() // the zero Permit does nothing
	adaptive.Permit{}.Drop()
	assert.Zero(t, l.InFlight())
}

func TestDoRunsFnHoldingAPermitAndReleasesIt(t *testing.T) {
	l := fixed(t, 1, adaptive.Config{MinLimit: 1, MaxLimit: 1})
	ctx := adaptive.WithPriority(context.Background(), adaptive.Critical)
	err := l.Do(ctx, func(ctx context.Context) error {
		assert.Equal(t, 1, l.InFlight())
		// The only permit is taken: a nested call is refused, fn not run.
		return l.Do(ctx, func(context.Context) error { t.Error("ran over the limit"); return nil })
	})
	assert.ErrorIs(t, err, ratelimit.ErrLimited)
	assert.Zero(t, l.InFlight())

	v, err := adaptive.Do(ctx, l, func(context.Context) (int, error) { return 42, nil })
	require.NoError(t, err)
	assert.Equal(t, 42, v)

	assert.Panics(t, func() {
		_ = l.Do(ctx, func(context.Context) error { panic("boom") })
	})
	assert.Zero(t, l.InFlight(), "a panicking fn must not keep its permit")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	err = l.Do(cancelled, func(context.Context) error { t.Error("ran with an ended context"); return nil })
	assert.ErrorIs(t, err, context.Canceled)
	_, err = adaptive.Do(cancelled, l, func(context.Context) (int, error) { return 1, nil })
	assert.ErrorIs(t, err, context.Canceled)

	boom := errors.New("boom")
	_, err = adaptive.Do(ctx, l, func(context.Context) (int, error) { return 0, boom })
	assert.ErrorIs(t, err, boom)
	v, err = adaptive.Do(ctx, l, func(ctx context.Context) (int, error) {
		return adaptive.Do(ctx, l, func(context.Context) (int, error) { return 1, nil })
	})
	assert.ErrorIs(t, err, ratelimit.ErrLimited)
	assert.Zero(t, v)
}

func TestAcquireAndReleaseAllocateNothing(t *testing.T) {
	l := fixed(t, 10, adaptive.Config{})
	ctx := adaptive.WithTenant(context.Background(), "acme")
	allocs := testing.AllocsPerRun(1000, func() {
		p, err := l.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p.Release()
	})
	assert.Zero(t, allocs)
	fn := func(context.Context) error { return nil }
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = l.Do(ctx, fn) }))
	full := acquireN(t, l, context.Background(), 9)
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _, _ = l.Acquire(ctx) }), "a refusal")
	for _, p := range full {
		p.Release()
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		cfg  adaptive.Config
		want string
	}{
		{adaptive.Config{MinLimit: -1}, "Config.MinLimit must be >= 0 (0 means 1), got -1"},
		{adaptive.Config{MaxLimit: -5}, "Config.MaxLimit must be >= 0 (0 means 1000), got -5"},
		{adaptive.Config{MinLimit: 20, MaxLimit: 10}, "Config.MinLimit (20) must not exceed Config.MaxLimit (10)"},
		{adaptive.Config{InitialLimit: -1}, "Config.InitialLimit must be >= 0"},
		{adaptive.Config{InitialLimit: 5, MinLimit: 10}, "Config.InitialLimit must be in [MinLimit, MaxLimit] = [10, 1000], got 5"},
		{adaptive.Config{InitialLimit: 2000}, "got 2000"},
		{adaptive.Config{Window: -time.Second}, "Config.Window must be >= 0 (0 means 100ms), got -1s"},
		{adaptive.Config{MinSamples: -1}, "Config.MinSamples must be >= 0"},
		{adaptive.Config{BaselineWindow: -1}, "Config.BaselineWindow must be >= 0"},
		{adaptive.Config{BaselineWindow: time.Second, Window: 2 * time.Second}, "Config.BaselineWindow (1s) must be at least Config.Window (2s)"},
		{adaptive.Config{LowShare: 1.5}, "Config.LowShare must be in (0, 1] (0 means 0.8), got 1.5"},
		{adaptive.Config{LowShare: math.NaN()}, "Config.LowShare must be in (0, 1]"},
		{adaptive.Config{NormalShare: -0.1}, "Config.NormalShare must be in (0, 1]"},
		{adaptive.Config{LowShare: 0.95}, "Config.LowShare (0.95) must not exceed Config.NormalShare (0.9)"},
		{adaptive.Config{TenantShare: 2}, "Config.TenantShare must be in (0, 1] (0 means 0.5), got 2"},
	} {
		_, err := adaptive.New(tc.cfg)
		require.Error(t, err, "%+v", tc.cfg)
		assert.Contains(t, err.Error(), tc.want)
		assert.Contains(t, err.Error(), "adaptive: ")
	}
	// Defaults adjust to each other rather than fail.
	l, err := adaptive.New(adaptive.Config{MinLimit: 2000})
	require.NoError(t, err)
	assert.Equal(t, 2000, l.Limit())
	l, err = adaptive.New(adaptive.Config{MaxLimit: 4})
	require.NoError(t, err)
	assert.Equal(t, 4, l.Limit())
	l, err = adaptive.New(adaptive.Config{})
	require.NoError(t, err)
	assert.Equal(t, adaptive.DefaultInitialLimit, l.Limit())
	assert.Zero(t, l.NoLoadLatency())
}
