package alert

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBucketQuantile(t *testing.T) {
	bounds := []float64{0.1, 0.5, 1}
	for _, tc := range []struct {
		name   string
		q      float64
		counts []float64
		want   float64
	}{
		{"first bucket interpolates from zero", 0.5, []float64{10, 0, 0, 0}, 0.05},
		{"middle bucket", 0.5, []float64{0, 10, 0, 0}, 0.3},
		{"rank on a boundary picks the lower bucket", 0.5, []float64{5, 5, 0, 0}, 0.1},
		{"inf bucket gives the highest bound", 0.99, []float64{1, 1, 1, 97}, 1},
		{"skips empty buckets", 0.9, []float64{0, 0, 10, 0}, 0.5 + 0.5*0.9},
		{"no data", 0.5, []float64{0, 0, 0, 0}, math.NaN()},
		{"layout mismatch", 0.5, []float64{1, 2}, math.NaN()},
	} {
		got := bucketQuantile(tc.q, bounds, tc.counts)
		if math.IsNaN(tc.want) {
			assert.True(t, math.IsNaN(got), "%s: got %v", tc.name, got)
			continue
		}
		assert.InDelta(t, tc.want, got, 1e-12, tc.name)
	}
}

func TestWindowDelta(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	longAgo := t0.Add(-time.Hour)
	at := func(d time.Duration, v float64) sample {
		return sample{at: t0.Add(d), start: longAgo, values: []float64{v}}
	}
	var h history
	_, ok := h.windowDelta(at(0, 100), 5*time.Minute)
	assert.False(t, ok, "one sample of counters that began long ago is no data")

	d, ok := h.windowDelta(at(time.Minute, 130), 5*time.Minute)
	require.True(t, ok)
	assert.Equal(t, []float64{30}, d, "shorter history: since the oldest sample")

	for m := 2; m <= 6; m++ {
		d, ok = h.windowDelta(at(time.Duration(m)*time.Minute, 100+30*float64(m)), 5*time.Minute)
		require.True(t, ok)
	}
	assert.Equal(t, []float64{150}, d, "full window: since the sample 5 min earlier")
	assert.LessOrEqual(t, len(h.samples), 7, "old samples are pruned")

	d, ok = h.windowDelta(at(7*time.Minute, 20), 5*time.Minute)
	require.True(t, ok)
	assert.Equal(t, []float64{20}, d, "a counter reset counts from zero")

	var fresh history
	d, ok = fresh.windowDelta(sample{at: t0, start: t0.Add(-time.Minute), values: []float64{42}}, 5*time.Minute)
	require.True(t, ok)
	assert.Equal(t, []float64{42}, d, "counting began inside the window: the values are the growth")
}
