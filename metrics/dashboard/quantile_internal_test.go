package dashboard

import (
	"math"
	"testing"
)

func TestQuantileFromBuckets(t *testing.T) {
	bounds := []float64{0.1, 0.2, 0.5}
	cases := []struct {
		q      float64
		counts []uint64
		want   float64
	}{
		{0.5, []uint64{0, 10, 0, 0}, 0.15},      // middle of (0.1, 0.2]
		{0.5, []uint64{10, 0, 0, 0}, 0.05},      // first bucket starts at 0
		{0.99, []uint64{50, 0, 50, 0}, 0.494},   // rank 99 of 100: 49/50 into (0.2, 0.5]
		{0.95, []uint64{0, 0, 0, 7}, 0.5},       // +Inf bucket: highest bound
		{0.5, []uint64{1, 1, 1, 1}, 0.2},        // rank 2: end of the second bucket
		{0.5, []uint64{0, 0, 0, 0}, math.NaN()}, // no observations
		{0.5, []uint64{1, 1}, math.NaN()},       // malformed: wrong length
	}
	for _, c := range cases {
		got := quantile(c.q, bounds, c.counts)
		if math.IsNaN(c.want) {
			if !math.IsNaN(got) {
				t.Errorf("quantile(%v, %v) = %v, want NaN", c.q, c.counts, got)
			}
			continue
		}
		if math.Abs(got-c.want) > 1e-9 {
			t.Errorf("quantile(%v, %v) = %v, want %v", c.q, c.counts, got, c.want)
		}
	}
}
