package retry_test

import (
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/stretchr/testify/assert"

	"github.com/keel-go/keel/retry"
)

func TestExponentialGrowsToMax(t *testing.T) {
	b := retry.Exponential{Initial: 100 * time.Millisecond, Max: time.Second, Multiplier: 2}.NewBackOff()
	var got []time.Duration
	for range 6 {
		got = append(got, b.NextBackOff())
	}
	ms := time.Millisecond
	assert.Equal(t, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}, got)
}

func TestJitterStaysInItsBand(t *testing.T) {
	tests := []struct {
		name    string
		backoff retry.Backoff
		base    []time.Duration
	}{
		{"exponential", retry.Exponential{Initial: time.Second, Max: 8 * time.Second, Multiplier: 2, Jitter: 0.5},
			[]time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}},
		{"constant", retry.Constant{Delay: time.Second, Jitter: 0.2},
			[]time.Duration{time.Second, time.Second, time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jitter := map[string]float64{"exponential": 0.5, "constant": 0.2}[tt.name]
			distinct := map[time.Duration]bool{}
			for range 200 {
				b := tt.backoff.NewBackOff()
				for _, base := range tt.base {
					d := b.NextBackOff()
					distinct[d] = true
					assert.GreaterOrEqual(t, float64(d), float64(base)*(1-jitter)-1)
					assert.LessOrEqual(t, float64(d), float64(base)*(1+jitter)+1)
				}
			}
			assert.Greater(t, len(distinct), 100, "jitter must actually spread the delays")
		})
	}
}

func TestDecorrelatedJitterBounds(t *testing.T) {
	base, maxDelay := 100*time.Millisecond, 2*time.Second
	for range 200 {
		b := retry.DecorrelatedJitter{Base: base, Max: maxDelay}.NewBackOff()
		prev := base
		for range 20 {
			d := b.NextBackOff()
			assert.GreaterOrEqual(t, d, base)
			assert.LessOrEqual(t, d, min(3*prev, maxDelay))
			prev = d
		}
	}
}

func TestBackoffFuncAndStop(t *testing.T) {
	b := retry.BackoffFunc(func() backoff.BackOff { return &backoff.StopBackOff{} }).NewBackOff()
	assert.Equal(t, backoff.Stop, b.NextBackOff())
}
