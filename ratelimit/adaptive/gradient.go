package adaptive

import (
	"math"
	"time"
)

// baselineSlots is how many pieces the baseline window is cut into: the
// no-load latency is the least window average over the last
// baselineSlots slots, so an old minimum leaves the estimate one slot at a
// time instead of all at once.
const baselineSlots = 8

// controller estimates the concurrency limit from the latency of completed
// calls. Calls are sampled in windows; at the end of each window its
// average latency is compared with the no-load latency (the baseline):
//
//	queue = limit × (1 − baseline/average)
//
// is, by Little's law, how many of the calls in flight were waiting rather
// than being served (TCP Vegas's estimate, as in Netflix's VegasLimit).
// Below alpha = 3·log10(limit) the limit grows by log10(limit), but only
// when the window actually used at least half of it (a lightly loaded
// limiter learns nothing about capacity, so it must not grow without
// bound). Above beta = 6·log10(limit) the limit drops at once to what the
// backend was actually serving, limit × baseline/average (never below half
// of it), plus alpha of headroom: the multiplicative drop of Gradient2 and
// Envoy's gradient controller, which clears a queue in one window instead
// of Vegas's log10 steps. Between the two it holds.
//
// Not safe for concurrent use: the Limiter's mutex guards it.
type controller struct {
	limit              float64
	minLimit, maxLimit float64
	window             time.Duration
	minSamples         int

	winStart       time.Time
	winCount       int
	winSum         time.Duration
	winMaxInFlight int

	slots    [baselineSlots]baselineSlot
	slotLen  time.Duration
	span     time.Duration
	cur      int
	baseline time.Duration
}

// baselineSlot holds the least window average seen since start.
type baselineSlot struct {
	start time.Time
	least time.Duration
}

func newController(cfg Config, now time.Time) *controller {
	return &controller{
		limit:      float64(cfg.InitialLimit),
		minLimit:   float64(cfg.MinLimit),
		maxLimit:   float64(cfg.MaxLimit),
		window:     cfg.Window,
		minSamples: cfg.MinSamples,
		winStart:   now,
		slotLen:    cfg.BaselineWindow / baselineSlots,
		span:       cfg.BaselineWindow,
	}
}

// noteInFlight records that inFlight calls were in flight at once.
func (c *controller) noteInFlight(inFlight int) {
	c.winMaxInFlight = max(c.winMaxInFlight, inFlight)
}

// sample records one completed call's latency and, when the window is
// complete, adjusts the limit. It reports whether the window closed.
func (c *controller) sample(now time.Time, rtt time.Duration) bool {
	c.winCount++
	c.winSum += max(rtt, 0)
	// A window lasts at least twice the no-load latency, so that it spans
	// whole calls of a slow backend rather than only its fastest ones.
	if c.winCount < c.minSamples || now.Sub(c.winStart) < max(c.window, 2*c.baseline) {
		return false
	}
	avg := c.winSum / time.Duration(c.winCount)
	c.observeBaseline(now, max(avg, 1))
	c.adjust(float64(c.baseline) / float64(max(avg, 1)))
	c.winStart, c.winCount, c.winSum, c.winMaxInFlight = now, 0, 0, 0
	return true
}

// adjust moves the limit given gradient = baseline / window average, in
// (0, 1].
func (c *controller) adjust(gradient float64) {
	lg := math.Log10(c.limit)
	beta := min(max(2, 6*lg), c.limit/2)
	alpha := min(max(1, 3*lg), beta/2)
	queue := c.limit * (1 - gradient)
	next := c.limit
	switch {
	case queue > beta:
		next = c.limit*max(0.5, gradient) + alpha
	case queue < alpha && float64(c.winMaxInFlight) >= c.limit/2:
		next = c.limit + max(1, lg)
	}
	c.limit = min(max(next, c.minLimit), c.maxLimit)
}

// observeBaseline folds a window average into the no-load latency: the
// least average over the last BaselineWindow.
func (c *controller) observeBaseline(now time.Time, avg time.Duration) {
	s := &c.slots[c.cur]
	if s.start.IsZero() || now.Sub(s.start) >= c.slotLen {
		c.cur = (c.cur + 1) % baselineSlots
		c.slots[c.cur] = baselineSlot{start: now, least: avg}
	} else {
		s.least = min(s.least, avg)
	}
	c.baseline = avg
	for _, s := range c.slots {
		if !s.start.IsZero() && now.Sub(s.start) < c.span {
			c.baseline = min(c.baseline, s.least)
		}
	}
}

// current returns the limit as a whole number of calls, at least 1.
func (c *controller) current() int { return max(1, int(c.limit)) }
