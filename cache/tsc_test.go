package cache

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSinceAnchorServesItsWindowOnlyAndErrsLate: ticks before the anchor
// or a window or more after it are not served; those in between convert
// rounded up, plus the pad.
func TestSinceAnchorServesItsWindowOnlyAndErrsLate(t *testing.T) {
	const nanos, ticks, window = 5_000, 1 << 40, 1000
	pad := int64(tscReorderPad)
	for _, c := range []struct {
		name       string
		rate, now  uint64
		want       int64
		wantServed bool
	}{
		{"at the anchor", 1 << 32, ticks, nanos + pad, true},
		{"last tick of the window", 1 << 32, ticks + window - 1, nanos + window - 1 + pad, true},
		{"end of the window", 1 << 32, ticks + window, 0, false},
		{"before the anchor (another CPU behind)", 1 << 32, ticks - 1, 0, false},
		{"far before the anchor", 1 << 32, 0, 0, false},
		{"a third of a nanosecond rounds up", (1 << 32) / 3, ticks + 1, nanos + 1 + pad, true},
		{"just over 1 ns rounds up to 2", (1<<32)/3 + 1, ticks + 3, nanos + 2 + pad, true},
		{"not calibrated (window 0 serves nothing)", 0, ticks, 0, false},
	} {
		w := uint64(window)
		if c.rate == 0 {
			w = 0
		}
		got, served := sinceAnchor(nanos, ticks, c.rate, w, c.now)
		require.Equal(t, c.wantServed, served, c.name)
		if served {
			assert.Equal(t, c.want, got, c.name)
		}
	}
}

// TestTSCRateRunsAheadByItsMarginAndRefusesNonsense: the rate is the
// measured nanoseconds per tick raised by 1/tscRateMargin (never below
// the measurement), the window is tscWindow in ticks at that rate, and a
// counter that went backwards, stood still or ticks outside 100 MHz to
// 100 GHz is refused.
func TestTSCRateRunsAheadByItsMarginAndRefusesNonsense(t *testing.T) {
	for _, hz := range []float64{1e9, 2.5e9, 3e9, 3.7e9} {
		span := 10 * time.Millisecond
		dTicks := uint64(hz * span.Seconds())
		rate, window, ok := tscRate(1_000, 50, 1_000+dTicks, 50+int64(span))
		require.True(t, ok, "%v Hz", hz)
		exact := float64(span.Nanoseconds()) / float64(dTicks) * (1 << 32)
		got := float64(rate)
		assert.GreaterOrEqual(t, got, exact*(1+1.0/tscRateMargin), "%v Hz: the margin", hz)
		assert.Less(t, got, exact*(1+1.0/tscRateMargin)+2, "%v Hz: no more than the margin", hz)
		wantWindow := hz * tscWindow.Seconds() / (1 + 1.0/tscRateMargin)
		assert.InDelta(t, wantWindow, float64(window), 2, "%v Hz: window in ticks", hz)
		// Converted over a whole window, ticks run ahead of the clock by
		// the margin, and no more than tscEarlyBound.
		converted, served := sinceAnchor(0, 0, rate, window, window-1)
		require.True(t, served)
		assert.GreaterOrEqual(t, converted-int64(tscReorderPad), int64(float64(window-1)/hz*1e9), "%v Hz", hz)
		assert.LessOrEqual(t, converted, int64(float64(window-1)/hz*1e9)+int64(tscEarlyBound), "%v Hz", hz)
	}
	for name, pairs := range map[string][4]int64{
		"backwards":      {2_000, 0, 1_000, int64(time.Second)},
		"standing":       {2_000, 0, 2_000, int64(time.Second)},
		"clock backward": {1_000, int64(time.Second), 2_000, 0},
		"50 MHz":         {0, 0, 500_000, int64(10 * time.Millisecond)},
		"200 GHz":        {0, 0, 2_000_000_000, int64(10 * time.Millisecond)},
	} {
		_, _, ok := tscRate(uint64(pairs[0]), pairs[1], uint64(pairs[2]), pairs[3])
		assert.False(t, ok, name)
	}
}

// TestTSCCheckCatchesACounterThatFellBehind: a new pair agrees with the
// previous anchor when the time converted from the anchor is not behind
// the clock by more than the pair's bracket; a counter that ran slow, or
// went backwards, fails.
func TestTSCCheckCatchesACounterThatFellBehind(t *testing.T) {
	const rate = 1 << 32 // 1 ns per tick
	const anchorNanos, anchorTicks = 1_000_000, 5_000_000
	for _, c := range []struct {
		name   string
		t      int64
		before uint64
		after  uint64
		want   bool
	}{
		{"in step", anchorNanos + 1_000_000, anchorTicks + 1_000_000, anchorTicks + 1_000_050, true},
		{"counter ahead (the margin)", anchorNanos + 1_000_000, anchorTicks + 1_002_000, anchorTicks + 1_002_050, true},
		{"behind within the bracket", anchorNanos + 1_000_040, anchorTicks + 1_000_000, anchorTicks + 1_000_050, true},
		{"behind beyond the bracket", anchorNanos + 1_000_100, anchorTicks + 1_000_000, anchorTicks + 1_000_050, false},
		{"counter stood still for a second", anchorNanos + int64(time.Second), anchorTicks + 10, anchorTicks + 20, false},
		{"counter went backwards", anchorNanos + 1_000_000, anchorTicks - 1, anchorTicks + 10, false},
	} {
		assert.Equal(t, c.want, tscCheck(anchorNanos, anchorTicks, rate, c.t, c.before, c.after), c.name)
	}
}

// TestAClockMadeInASynctestBubbleReadsTheOSClock: the counter does not
// follow a bubble's fake time, so such a clock never uses it.
func TestAClockMadeInASynctestBubbleReadsTheOSClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		assert.False(t, newClock().counter)
	})
	if tscUsable() {
		assert.True(t, newClock().counter, "outside a bubble, where the counter is usable")
	}
}

// TestLookupTimeIsNeverEarlyAndAtMostTheBoundLate runs on the real
// counter (skipped where it is not usable): two goroutines time lookups
// between two readings of the OS clock, for 200 ms (some 200 anchors,
// each checked against the one before). Every lookup's time is at or
// after the first reading and at most tscEarlyBound after the second,
// and the counter is still trusted at the end.
func TestLookupTimeIsNeverEarlyAndAtMostTheBoundLate(t *testing.T) {
	if !tscUsable() {
		t.Skip("the time-stamp counter is not usable here: lookups read the OS clock")
	}
	k := newClock()
	require.True(t, k.counter)
	// Calibration needs two pairs tscCalibrationSpan apart.
	deadline := time.Now().Add(5 * time.Second)
	for k.window.Load() == 0 {
		require.False(t, tsc.disabled.Load(), "the counter disagreed with the clock")
		require.True(t, time.Now().Before(deadline), "not calibrated after 5s")
		k.lookupTime()
	}
	type result struct {
		lookups, early, late  int
		worstEarly, worstLate int64
	}
	results := make([]result, 2)
	end := time.Now().Add(200 * time.Millisecond)
	var wg sync.WaitGroup
	for g := range results {
		wg.Go(func() {
			r := &results[g]
			for time.Now().Before(end) {
				before := k.precise()
				got := k.lookupTime()
				after := k.precise()
				r.lookups++
				if got < before {
					r.early++
					r.worstEarly = max(r.worstEarly, before-got)
				}
				if got > after+int64(tscEarlyBound) {
					r.late++
					r.worstLate = max(r.worstLate, got-after)
				}
			}
		})
	}
	wg.Wait()
	for g, r := range results {
		t.Logf("goroutine %d: %d lookups", g, r.lookups)
		assert.Zero(t, r.early, "lookup times before the clock's (worst %dns)", r.worstEarly)
		assert.Zero(t, r.late, "lookup times more than %v after the clock's (worst %dns)", tscEarlyBound, r.worstLate)
	}
	assert.False(t, tsc.disabled.Load(), "the counter disagreed with the clock")
	assert.NotZero(t, k.anchorTicks.Load())
}
