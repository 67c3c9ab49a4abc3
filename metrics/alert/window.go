package alert

import "time"

// sample is the cumulative state of one condition at one evaluation.
type sample struct {
	at time.Time
	// start is the earliest start time of the cumulative points summed,
	// i.e. since when the values have been counting.
	start  time.Time
	values []float64
}

// history keeps the samples a window needs, oldest first.
type history struct {
	samples []sample
}

// windowDelta records cur and returns how much each value grew over the
// window ending at cur.at:
//
//   - if every point began counting inside the window, the growth is the
//     values themselves (they started from zero);
//   - else it is the growth since the newest sample at or before the
//     window's start;
//   - else, with less history than the window, the growth since the oldest
//     sample (a shorter window rather than none);
//   - with no earlier sample at all, there is no data.
//
// A value that shrank means the counters restarted (a new process or a
// re-created provider); the growth is then the value itself.
func (h *history) windowDelta(cur sample, window time.Duration) ([]float64, bool) {
	from := cur.at.Add(-window)
	var base *sample
	for i := range h.samples {
		if !h.samples[i].at.After(from) {
			base = &h.samples[i]
		}
	}
	if base == nil && len(h.samples) > 0 {
		base = &h.samples[0]
	}
	// Keep the newest sample at or before the window's start and
	// everything after it.
	keep := 0
	for i := range h.samples {
		if !h.samples[i].at.After(from) {
			keep = i
		}
	}
	h.samples = append(h.samples[keep:], cur)

	switch {
	case !cur.start.IsZero() && !cur.start.Before(from):
		return cur.values, true
	case base == nil || len(base.values) != len(cur.values):
		return nil, false
	}
	delta := make([]float64, len(cur.values))
	for i := range cur.values {
		d := cur.values[i] - base.values[i]
		if d < 0 {
			return cur.values, true
		}
		delta[i] = d
	}
	return delta, true
}
