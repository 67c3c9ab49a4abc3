package ratelimit_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/ratelimit"
	"github.com/keel-go/keel/ratelimit/internal/metrictest"
)

func TestNewBulkheadRejectsInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  ratelimit.BulkheadConfig
		want string
	}{
		{"zero in flight", ratelimit.BulkheadConfig{}, "BulkheadConfig.MaxInFlight must be > 0, got 0"},
		{"negative queue", ratelimit.BulkheadConfig{MaxInFlight: 1, MaxQueue: -1}, "BulkheadConfig.MaxQueue must be >= 0"},
		{"negative wait", ratelimit.BulkheadConfig{MaxInFlight: 1, MaxWait: -1}, "BulkheadConfig.MaxWait must be >= 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ratelimit.NewBulkhead(tt.cfg)
			require.Error(t, err)
			assert.Nil(t, b)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestBulkheadRefusesBeyondMaxInFlight(t *testing.T) {
	b, err := ratelimit.NewBulkhead(ratelimit.BulkheadConfig{Name: "db", MaxInFlight: 2})
	require.NoError(t, err)
	defer b.Close()
	ctx := context.Background()

	require.NoError(t, b.Acquire(ctx))
	require.NoError(t, b.Acquire(ctx))
	assert.Equal(t, 2, b.InFlight())
	err = b.Acquire(ctx)
	var limited *ratelimit.LimitedError
	require.ErrorAs(t, err, &limited)
	assert.Equal(t, "db", limited.Limiter)
	assert.Zero(t, limited.RetryAfter, "a bulkhead cannot know when a slot frees up")
	assert.Equal(t, `ratelimit: "db" limited`, err.Error())

	b.Release()
	require.NoError(t, b.Acquire(ctx), "a released slot can be taken again")
	b.Release()
	b.Release()
	assert.Equal(t, 0, b.InFlight())
}

func TestBulkheadQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mp, collect := metrictest.New(t)
		b, err := ratelimit.NewBulkhead(ratelimit.BulkheadConfig{
			Name: "db", MaxInFlight: 1, MaxQueue: 1, MaxWait: time.Second, MeterProvider: mp,
		})
		require.NoError(t, err)
		defer b.Close()
		ctx := context.Background()

		require.NoError(t, b.Acquire(ctx))
		queued := make(chan error)
		go func() { queued <- b.Acquire(ctx) }()
		synctest.Wait()
		assert.Equal(t, 1, b.Queued())
		assert.ErrorIs(t, b.Acquire(ctx), ratelimit.ErrLimited, "the queue holds one call")

		time.Sleep(300 * time.Millisecond)
		b.Release()
		require.NoError(t, <-queued, "the queued call gets the released slot")
		assert.Equal(t, 1, b.InFlight())
		assert.Equal(t, 0, b.Queued())

		// A queued call that waits past MaxWait is refused.
		start := time.Now()
		go func() { queued <- b.Acquire(ctx) }()
		err = <-queued
		assert.ErrorIs(t, err, ratelimit.ErrLimited)
		assert.Equal(t, time.Second, time.Since(start))
		b.Release()

		assert.Equal(t, map[string]int64{
			"keel.ratelimit.decision=allowed,keel.ratelimit.name=db": 1,
			"keel.ratelimit.decision=limited,keel.ratelimit.name=db": 1,
		}, collect("keel.ratelimit.wait.duration"), "queued waits are recorded by outcome")
		assert.Equal(t, map[string]int64{
			"keel.ratelimit.decision=allowed,keel.ratelimit.name=db": 2,
			"keel.ratelimit.decision=limited,keel.ratelimit.name=db": 2,
		}, collect("keel.ratelimit.decisions"))
		assert.Equal(t, map[string]int64{"keel.ratelimit.name=db": 0}, collect("keel.ratelimit.in_flight"))
		assert.Equal(t, map[string]int64{"keel.ratelimit.name=db": 1}, collect("keel.ratelimit.max_in_flight"))
	})
}

func TestBulkheadQueuedCallHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := ratelimit.NewBulkhead(ratelimit.BulkheadConfig{MaxInFlight: 1, MaxQueue: 5})
		require.NoError(t, err)
		defer b.Close()
		require.NoError(t, b.Acquire(context.Background()))

		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		err = b.Acquire(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.False(t, errors.Is(err, ratelimit.ErrLimited))
		assert.Equal(t, 2*time.Second, time.Since(start), "with no MaxWait a queued call waits as long as its context allows")
		assert.Equal(t, 1, b.InFlight(), "a failed Acquire holds no slot")

		done, cancelDone := context.WithCancel(context.Background())
		cancelDone()
		assert.ErrorIs(t, b.Acquire(done), context.Canceled, "a done context is refused before trying")
		b.Release()
	})
}

func TestBulkheadDoReleasesSlot(t *testing.T) {
	b, err := ratelimit.NewBulkhead(ratelimit.BulkheadConfig{MaxInFlight: 1})
	require.NoError(t, err)
	defer b.Close()
	ctx := context.Background()

	boom := errors.New("boom")
	assert.ErrorIs(t, b.Do(ctx, func(context.Context) error { return boom }), boom)
	assert.Equal(t, 0, b.InFlight())

	assert.Panics(t, func() { _ = b.Do(ctx, func(context.Context) error { panic("handler bug") }) })
	assert.Equal(t, 0, b.InFlight(), "a panicking call releases its slot")

	n, err := ratelimit.Do(ctx, b, func(context.Context) (int, error) { return 42, nil })
	require.NoError(t, err)
	assert.Equal(t, 42, n)
}

func TestBulkheadReleaseWithoutAcquireIsLogged(t *testing.T) {
	var logs bytes.Buffer
	b, err := ratelimit.NewBulkhead(ratelimit.BulkheadConfig{
		Name: "db", MaxInFlight: 1, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	require.NoError(t, err)
	defer b.Close()
	b.Release()
	assert.Contains(t, logs.String(), "Release called without a matching Acquire")
	require.NoError(t, b.Acquire(context.Background()))
	assert.ErrorIs(t, b.Acquire(context.Background()), ratelimit.ErrLimited, "the stray Release freed nothing")
}

// A nil Logger means no logs: the misuse path, which logs, does not panic.
func TestBulkheadReleaseWithoutAcquireWithNilLogger(t *testing.T) {
	b, err := ratelimit.NewBulkhead(ratelimit.BulkheadConfig{Name: "db", MaxInFlight: 1})
	require.NoError(t, err)
	defer b.Close()
	assert.NotPanics(t, b.Release)
	require.NoError(t, b.Acquire(context.Background()))
	assert.ErrorIs(t, b.Acquire(context.Background()), ratelimit.ErrLimited, "the stray Release freed nothing")
}
