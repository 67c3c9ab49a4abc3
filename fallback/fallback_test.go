package fallback_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/keel-go/keel/fallback"
)

var (
	errUnavailable = errors.New("unavailable")
	errInvalid     = errors.New("invalid request")
)

func mustNew[T any](t *testing.T, cfg fallback.Config[T]) *fallback.Policy[T] {
	t.Helper()
	p, err := fallback.New(cfg)
	require.NoError(t, err)
	return p
}

func TestSuccessIsUntouched(t *testing.T) {
	used := false
	p := mustNew(t, fallback.Config[string]{Value: "default", Func: func(context.Context, error) (string, error) {
		used = true
		return "computed", nil
	}})
	v, err := fallback.Do(context.Background(), p, func(context.Context) (string, error) { return "real", nil })
	require.NoError(t, err)
	assert.Equal(t, "real", v)
	assert.False(t, used, "the fallback does not run for a success")
}

func TestValueAnswersEveryErrorByDefault(t *testing.T) {
	p := mustNew(t, fallback.Config[[]string]{Value: []string{"bestsellers"}})
	for _, cause := range []error{errUnavailable, errInvalid, fmt.Errorf("wrapped: %w", errUnavailable)} {
		v, err := fallback.Do(context.Background(), p, func(context.Context) ([]string, error) { return nil, cause })
		require.NoError(t, err)
		assert.Equal(t, []string{"bestsellers"}, v)
	}
}

// When chooses the errors answered; the others come back untouched.
func TestWhenChoosesTheErrors(t *testing.T) {
	p := mustNew(t, fallback.Config[int]{Value: -1, When: fallback.On(errUnavailable)})
	v, err := fallback.Do(context.Background(), p, func(context.Context) (int, error) {
		return 0, fmt.Errorf("dependency: %w", errUnavailable)
	})
	require.NoError(t, err)
	assert.Equal(t, -1, v)

	v, err = fallback.Do(context.Background(), p, func(context.Context) (int, error) { return 3, errInvalid })
	assert.Same(t, errInvalid, err, "an error When does not answer is returned as it is")
	assert.Equal(t, 3, v, "with the call's own value")

	none := mustNew(t, fallback.Config[int]{Value: -1, When: fallback.On()})
	_, err = fallback.Do(context.Background(), none, func(context.Context) (int, error) { return 0, errUnavailable })
	assert.Same(t, errUnavailable, err, "On() answers nothing")
}

// Func receives the caller's context and the error, and may fail; then both
// errors are found in the result.
func TestFuncAnswersFromTheError(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "request-1")
	var gotErr error
	p := mustNew(t, fallback.Config[string]{Name: "prices", Func: func(ctx context.Context, err error) (string, error) {
		gotErr = err
		if errors.Is(err, errInvalid) {
			return "", errors.New("no cached price")
		}
		return "cached for " + ctx.Value(key{}).(string), nil
	}})
	v, err := fallback.Do(ctx, p, func(context.Context) (string, error) { return "", errUnavailable })
	require.NoError(t, err)
	assert.Equal(t, "cached for request-1", v)
	assert.Same(t, errUnavailable, gotErr)

	_, err = fallback.Do(ctx, p, func(context.Context) (string, error) { return "", errInvalid })
	var fe *fallback.Error
	require.ErrorAs(t, err, &fe)
	assert.ErrorIs(t, err, errInvalid, "the call's error is found")
	assert.EqualError(t, fe.FallbackErr, "no cached price")
	assert.Equal(t, `fallback: "prices" failed too (no cached price) after: invalid request`, err.Error())
}

// Nobody is waiting for the answer of a cancelled call: no fallback runs.
func TestCancelledCallerIsNotAnswered(t *testing.T) {
	used := false
	p := mustNew(t, fallback.Config[int]{Func: func(context.Context, error) (int, error) { used = true; return 1, nil }})
	ctx, cancel := context.WithCancel(context.Background())
	_, err := fallback.Do(ctx, p, func(ctx context.Context) (int, error) {
		cancel()
		return 0, ctx.Err()
	})
	assert.ErrorIs(t, err, context.Canceled)

	called := false
	_, err = fallback.Do(ctx, p, func(context.Context) (int, error) { called = true; return 0, nil })
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, called, "a done context runs nothing")
	assert.False(t, used)
}

func TestUntypedDo(t *testing.T) {
	p := mustNew(t, fallback.Config[struct{}]{})
	assert.NoError(t, p.Do(context.Background(), func(context.Context) error { return errUnavailable }))

	failing := mustNew(t, fallback.Config[int]{Func: func(context.Context, error) (int, error) { return 0, errInvalid }})
	err := failing.Do(context.Background(), func(context.Context) error { return errUnavailable })
	assert.ErrorIs(t, err, errUnavailable)
	assert.ErrorIs(t, err, errInvalid)
}

func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	p := mustNew(t, fallback.Config[int]{Name: "rates", When: fallback.On(errUnavailable), MeterProvider: mp,
		Func: func(_ context.Context, err error) (int, error) {
			if errors.Is(err, context.DeadlineExceeded) {
				return 0, err
			}
			return 1, nil
		}})
	ctx := context.Background()
	_, _ = fallback.Do(ctx, p, func(context.Context) (int, error) { return 1, nil })
	_, _ = fallback.Do(ctx, p, func(context.Context) (int, error) { return 0, errUnavailable })
	_, _ = fallback.Do(ctx, p, func(context.Context) (int, error) { return 0, errors.Join(errUnavailable, context.DeadlineExceeded) })
	_, _ = fallback.Do(ctx, p, func(context.Context) (int, error) { return 0, errInvalid })
	done, cancel := context.WithCancel(ctx)
	cancel()
	_, _ = fallback.Do(done, p, func(context.Context) (int, error) { return 1, nil })

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(ctx, &rm))
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, "github.com/keel-go/keel/fallback", sm.Scope.Name)
		for _, m := range sm.Metrics {
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				got[m.Name+"|"+dp.Attributes.Encoded(attribute.DefaultEncoder())] = dp.Value
			}
		}
	}
	prefix := "keel.fallback.calls|keel.fallback.name=rates,keel.fallback.outcome="
	assert.Equal(t, map[string]int64{
		prefix + "success": 1, prefix + "fallback": 1, prefix + "fallback_failed": 1,
		prefix + "failure": 1, prefix + "canceled": 1,
	}, got)
}

func TestSuccessDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	calls := 0
	for name, mp := range map[string]fallback.Config[int]{"global provider": {}, "noop provider": {MeterProvider: noop.NewMeterProvider()}} {
		t.Run(name, func(t *testing.T) {
			p := mustNew(t, mp)
			ctx := context.Background()
			assert.Zero(t, testing.AllocsPerRun(100, func() {
				_, _ = fallback.Do(ctx, p, func(context.Context) (int, error) { calls++; return calls, nil })
			}))
			assert.Zero(t, testing.AllocsPerRun(100, func() {
				_, _ = fallback.Do(ctx, p, func(context.Context) (int, error) { calls++; return 0, errUnavailable })
			}), "answering with Value allocates nothing either")
		})
	}
	assert.Positive(t, calls)
}
