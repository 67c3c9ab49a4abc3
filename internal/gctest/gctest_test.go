package gctest

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// recorder stands in for t to see whether Collected failed.
type recorder struct {
	testing.TB
	failed []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = append(r.failed, fmt.Sprintf(format, args...))
}

// owner is a type with a metric callback, registered one way or the other.
type owner struct {
	calls *atomic.Int64
	reg   metric.Registration
}

// newCapturing registers a callback that captures the owner itself: the
// MeterProvider keeps it alive.
func newCapturing(t testing.TB, m metric.Meter) *owner {
	o := &owner{calls: new(atomic.Int64)}
	c, err := m.Int64ObservableCounter("calls")
	require.NoError(t, err)
	o.reg, err = m.RegisterCallback(func(_ context.Context, obs metric.Observer) error {
		obs.ObserveInt64(c, o.calls.Load())
		return nil
	}, c)
	require.NoError(t, err)
	return o
}

// newByTheRule registers a callback that captures only the counter, and
// unregisters it when the owner is collected.
func newByTheRule(t testing.TB, m metric.Meter) *owner {
	o := &owner{calls: new(atomic.Int64)}
	c, err := m.Int64ObservableCounter("calls")
	require.NoError(t, err)
	calls := o.calls
	o.reg, err = m.RegisterCallback(func(_ context.Context, obs metric.Observer) error {
		obs.ObserveInt64(c, calls.Load())
		return nil
	}, c)
	require.NoError(t, err)
	runtime.AddCleanup(o, func(r metric.Registration) { _ = r.Unregister() }, o.reg)
	return o
}

func TestCollectedTellsTheRuleFromTheBreach(t *testing.T) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() { require.NoError(t, mp.Shutdown(context.Background())) }()
	m := mp.Meter("gctest")

	var byTheRule recorder
	Collected(&byTheRule, func() *owner { return newByTheRule(t, m) })
	assert.Empty(t, byTheRule.failed, "a callback that captures only its counters lets the owner go")

	var capturing recorder
	Collected(&capturing, func() *owner { return newCapturing(t, m) })
	require.Len(t, capturing.failed, 1, "a callback that captures its owner keeps it alive")
	assert.Contains(t, capturing.failed[0], "*gctest.owner")
}

var pinned *owner

func TestCollectedFailsForAnObjectStillReferenced(t *testing.T) {
	var r recorder
	Collected(&r, func() *owner { pinned = &owner{}; return pinned })
	assert.Len(t, r.failed, 1)
	pinned = nil
}
