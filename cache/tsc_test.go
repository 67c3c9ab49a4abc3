package cache

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSinceAnchorServesItsWindowOnly: ticks before the anchor or a window
// or more after it are not served; those in between convert at the rate.
func TestSinceAnchorServesItsWindowOnly(t *testing.T) {
	const nanos, ticks, window = 5_000, 1 << 40, 1000
	for _, c := range []struct {
		name       string
		rate, now  uint64
		want       int64
		wantServed bool
	}{
		{"at the anchor", 1 << 32, ticks, nanos, true},
		{"last tick of the window", 1 << 32, ticks + window - 1, nanos + window - 1, true},
		{"end of the window", 1 << 32, ticks + window, 0, false},
		{"before the anchor (another CPU behind)", 1 << 32, ticks - 1, 0, false},
		{"far before the anchor", 1 << 32, 0, 0, false},
		{"a third of a nanosecond per tick", (1 << 32) / 3, ticks + 999, nanos + 332, true},
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

// TestTSCRateMeasuresAndRefusesNonsense: the rate is the measured
// nanoseconds per tick (times 2^32) and the window tscWindow in ticks; a
// counter or clock that went backwards or stood still, or a frequency
// outside 100 MHz to 100 GHz, is refused.
func TestTSCRateMeasuresAndRefusesNonsense(t *testing.T) {
	for _, hz := range []float64{1e9, 2.5e9, 3e9, 3.7e9} {
		span := 10 * time.Millisecond
		dTicks := uint64(hz * span.Seconds())
		rate, ok := tscRate(tscPoint{1_000, 50}, tscPoint{1_000 + dTicks, 50 + int64(span)})
		require.True(t, ok, "%v Hz", hz)
		exact := float64(span.Nanoseconds()) / float64(dTicks) * (1 << 32)
		assert.InDelta(t, exact, float64(rate), 1, "%v Hz", hz)
		assert.InDelta(t, hz*tscWindow.Seconds(), float64(tscWindowTicks(rate)), 2, "%v Hz: window in ticks", hz)
	}
	for name, p := range map[string][2]tscPoint{
		"counter backwards": {{2_000, 0}, {1_000, int64(time.Second)}},
		"counter standing":  {{2_000, 0}, {2_000, int64(time.Second)}},
		"clock backwards":   {{1_000, int64(time.Second)}, {2_000, 0}},
		"50 MHz":            {{0, 0}, {500_000, int64(10 * time.Millisecond)}},
		"200 GHz":           {{0, 0}, {2_000_000_000, int64(10 * time.Millisecond)}},
	} {
		_, ok := tscRate(p[0], p[1])
		assert.False(t, ok, name)
	}
}

// ghz3 is a 3 GHz counter: ticks at a clock reading.
func ghz3(nanos int64) uint64 { return 1_000_000 + uint64(nanos)*3 }

// offerAt offers c one pair at the clock reading nanos, its counter
// reading ticks (both counter readings the same).
func offerAt(c *tscCalibrator, ticks uint64, nanos int64) tscState {
	_, _, state := c.offer(ticks, ticks, nanos)
	return state
}

// TestTSCCalibrationNeedsTwoSpansThatAgree: the rate is published only
// when two consecutive spans of 10 ms to 1 s agree within 1 %; a span in
// which the clock stood while the counter ran (a suspend) is slid past;
// a span over a second restarts; a counter standing still is given up
// on after tscMaxAttempts spans; and a calibrated counter the kernel no
// longer uses as its clock source is turned off at the next check.
func TestTSCCalibrationNeedsTwoSpansThatAgree(t *testing.T) {
	const ms = int64(time.Millisecond)
	c := newTestCalibrator()
	assert.Equal(t, tscPending, offerAt(c, ghz3(0), 0))
	assert.Equal(t, tscPending, offerAt(c, ghz3(9*ms), 9*ms), "under 10 ms: not a span")
	assert.Equal(t, tscPending, offerAt(c, ghz3(10*ms), 10*ms), "one span")
	assert.Equal(t, tscPending, offerAt(c, ghz3(15*ms), 15*ms))
	assert.Equal(t, tscReady, offerAt(c, ghz3(20*ms), 20*ms), "two spans that agree")
	assert.InDelta(t, float64(1<<32)/3, float64(c.rate.Load()), 1)
	assert.InDelta(t, 3e6, float64(c.window.Load()), 2)

	// A wide bracket (the goroutine was descheduled between the counter
	// readings) is not taken.
	c = newTestCalibrator()
	_, _, state := c.offer(ghz3(0), ghz3(0)+tscPairTicks, 0)
	assert.Equal(t, tscPending, state)
	assert.Equal(t, 0, c.stage)

	// The second span includes a 10 ms suspend: the clock stood, the
	// counter ran. It disagrees with the first and is slid past; the rate
	// comes from the spans after it.
	c = newTestCalibrator()
	offerAt(c, ghz3(0), 0)
	offerAt(c, ghz3(10*ms), 10*ms)
	suspended := uint64(30_000_000)
	assert.Equal(t, tscPending, offerAt(c, ghz3(20*ms)+suspended, 20*ms), "the suspend's span")
	assert.Equal(t, tscPending, offerAt(c, ghz3(30*ms)+suspended, 30*ms), "agrees with the suspend's span? no")
	assert.Equal(t, tscReady, offerAt(c, ghz3(40*ms)+suspended, 40*ms))
	assert.InDelta(t, float64(1<<32)/3, float64(c.rate.Load()), 1, "the rate outside the suspend")

	// A span over a second restarts from its end, and sparse lookups
	// (however many) never give up on the counter.
	c = newTestCalibrator()
	offerAt(c, ghz3(0), 0)
	assert.Equal(t, tscPending, offerAt(c, ghz3(2_000*ms), 2_000*ms))
	assert.Equal(t, 1, c.stage)
	assert.Equal(t, int64(2_000*ms), c.first.nanos)
	for i := int64(2); i < 3*tscMaxAttempts; i++ {
		require.Equal(t, tscPending, offerAt(c, ghz3(i*2_000*ms), i*2_000*ms), "lookup %d, 2 s apart", i)
	}
	base := int64(3*tscMaxAttempts) * 2_000 * ms
	offerAt(c, ghz3(base), base)
	offerAt(c, ghz3(base+10*ms), base+10*ms)
	assert.Equal(t, tscReady, offerAt(c, ghz3(base+20*ms), base+20*ms), "then two dense spans")

	// Before a span can end, a pair is not even looked at (no lock).
	c = newTestCalibrator()
	offerAt(c, ghz3(0), 0)
	assert.Equal(t, int64(10*ms), c.nextOffer.Load())
	c.mu.Lock()
	assert.Equal(t, tscPending, offerAt(c, ghz3(5*ms), 5*ms), "returns without the lock")
	c.mu.Unlock()

	// Spans that never agree give up after tscMaxAttempts.
	c = newTestCalibrator()
	offerAt(c, ghz3(0), 0)
	ticks, state := ghz3(0), tscPending
	for i := int64(1); i <= 2*tscMaxAttempts && state == tscPending; i++ {
		ticks += uint64(30_000_000 + (i%2)*3_000_000) // 3.0 and 3.3 GHz in turn
		state = offerAt(c, ticks, i*10*ms)
	}
	assert.Equal(t, tscOff, state, "disagreeing spans")

	// The third counter found behind a clock turns it off for the process.
	c = newTestCalibrator()
	c.mismatch()
	c.mismatch()
	assert.NotEqual(t, tscOff, c.state())
	c.mismatch()
	assert.Equal(t, tscOff, c.state())

	// A counter standing still.
	c = newTestCalibrator()
	state = tscPending
	for i := int64(0); i < 2*tscMaxAttempts && state == tscPending; i++ {
		state = offerAt(c, 7, i*10*ms)
	}
	assert.Equal(t, tscOff, state)

	// The kernel leaves the counter.
	source := true
	c = &tscCalibrator{stillSource: func() bool { return source }}
	offerAt(c, ghz3(0), 0)
	offerAt(c, ghz3(10*ms), 10*ms)
	require.Equal(t, tscReady, offerAt(c, ghz3(20*ms), 20*ms))
	source = false
	assert.Equal(t, tscOff, offerAt(c, ghz3(int64(2*time.Second)), int64(2*time.Second)))
}

// TestTSCCheckVerdicts: a new pair agrees with the previous anchor unless
// its counter is behind the anchor's (another CPU), its clock is before
// the anchor's (fake time), or converted ticks fall behind the clock by
// more than a quarter of the time between them plus the bracket and a
// microsecond.
func TestTSCCheckVerdicts(t *testing.T) {
	const rate = 1 << 32 // 1 ns per tick
	const nanos, ticks = 1_000_000, 5_000_000
	for _, c := range []struct {
		name    string
		t       int64
		ticks   uint64
		bracket uint64
		want    tscVerdict
	}{
		{"in step", nanos + 1_000_000, ticks + 1_000_000, 50, counterAgrees},
		{"counter ahead", nanos + 1_000_000, ticks + 2_000_000, 50, counterAgrees},
		{"behind by a quarter", nanos + 1_000_000, ticks + 750_000 - 1_050, 50, counterAgrees},
		{"behind by more than a quarter", nanos + 1_000_000, ticks + 750_000 - 1_052, 50, counterBehind},
		{"a long idle gap at 10 % slow", nanos + int64(time.Hour), ticks + uint64(0.9*float64(time.Hour)), 50, counterAgrees},
		{"counter stood for a second", nanos + int64(time.Second), ticks + 10, 50, counterBehind},
		{"counter backwards", nanos + 1_000_000, ticks - 1, 50, counterBackwards},
		{"clock backwards", nanos - 1, ticks + 10, 50, clockBackwards},
	} {
		assert.Equal(t, c.want, tscCheck(nanos, ticks, rate, c.t, c.ticks, c.bracket), c.name)
	}
}

// stoppedCounterClock is a clock whose anchor converts every tick to
// nanos (rate 0, a window of all ticks): a counter standing still, to pin
// what a lookup decides by the counter and what by the OS clock.
func stoppedCounterClock(nanos int64) *clock {
	k := &clock{base: time.Now(), cal: newTestCalibrator()}
	stopCounter(k, nanos)
	return k
}

// stopCounter makes k use a counter that stands still at converted time
// nanos: its anchor converts every tick to nanos (rate 0, a window of all
// ticks).
func stopCounter(k *clock, nanos int64) {
	k.off.Store(false)
	k.anchorNanos.Store(nanos)
	k.anchorTicks.Store(0)
	k.window.Store(math.MaxUint64)
	k.rate.Store(0)
}

// newTestCalibrator is an uncalibrated calibrator whose kernel keeps the
// counter as its clock source.
func newTestCalibrator() *tscCalibrator {
	return &tscCalibrator{stillSource: func() bool { return true }}
}

// TestLiveAtTrustsTheCounterOnlyForHitsBeyondTheGuard: converted time
// decides only that an entry expiring more than tscGuard later is live;
// an entry nearer its expiry, or past it, is decided by the OS clock,
// whichever way converted time strays (by less than tscGuard).
func TestLiveAtTrustsTheCounterOnlyForHitsBeyondTheGuard(t *testing.T) {
	const ms = int64(time.Millisecond)
	// Converted time lags the clock by 1 ms: an entry expired 0.5 ms ago
	// would be a hit by converted time; it misses.
	k := stoppedCounterClock(0)
	now := k.precise()
	k.anchorNanos.Store(now - ms)
	live, at := k.liveAt(now - ms/2)
	assert.False(t, live, "expired 0.5 ms ago, converted time 1 ms behind")
	assert.GreaterOrEqual(t, at, now, "decided by the OS clock")

	// Converted time leads by 1 ms: an entry with 0.5 ms to live would
	// read as absent by converted time; it is a hit.
	now = k.precise()
	k.anchorNanos.Store(now + ms)
	live, at = k.liveAt(now + 50*ms)
	assert.True(t, live)
	assert.Equal(t, now+ms, at, "50 ms to live, beyond the guard: decided by the counter")
	now = k.precise()
	k.anchorNanos.Store(now + ms)
	live, at = k.liveAt(now + ms + int64(tscGuard)) // exactly at the guard
	assert.True(t, live, "live by the clock")
	assert.NotEqual(t, now+ms, at, "at the guard: decided by the OS clock")

	// Far from its expiry the counter alone decides.
	k.anchorNanos.Store(123)
	live, at = k.liveAt(int64(time.Hour))
	assert.True(t, live)
	assert.Equal(t, int64(123), at)

	// A clock that is off reads the OS clock.
	k.off.Store(true)
	_, at = k.liveAt(int64(time.Hour))
	assert.NotEqual(t, int64(123), at)
}

// readyCalibrator is calibrated at 1 ns per tick with a window of all
// ticks (a counter that runs ahead of the clock here, which tscCheck
// accepts).
func readyCalibrator() *tscCalibrator {
	c := newTestCalibrator()
	c.window.Store(math.MaxUint64 / 2)
	c.rate.Store(1 << 32)
	return c
}

// TestReanchorTurnsTheCounterOffWhenTimeJumps runs on the real counter:
// a new anchor is published when the pair agrees with the last one, not
// when the counter went backwards (and the clock keeps the counter), and
// the clock stops using the counter when its time went backwards or ran
// ahead of the counter, as a synctest bubble's fake time does.
func TestReanchorTurnsTheCounterOffWhenTimeJumps(t *testing.T) {
	if !tscUsable() {
		t.Skip("the time-stamp counter is not usable here")
	}
	anchored := func(nanos int64, ticks uint64) *clock {
		k := &clock{base: time.Now(), cal: readyCalibrator()}
		k.anchorNanos.Store(nanos)
		k.anchorTicks.Store(ticks)
		return k
	}
	k := anchored(1, readTicks())
	k.anchorNanos.Store(k.precise())
	before := k.anchorTicks.Load()
	k.reanchor(0)
	assert.False(t, k.off.Load(), "in step")
	assert.Greater(t, k.anchorTicks.Load(), before, "a new anchor")
	assert.Equal(t, uint64(2), k.seq.Load())

	// The counter behind the anchor's (another CPU's, or one that
	// restarted at a resume): the new pair replaces the anchor, or every
	// lookup would try again until the counter caught up.
	ahead := readTicks() + 1<<50
	k = anchored(1, ahead)
	k.reanchor(0)
	assert.False(t, k.off.Load(), "counter backwards")
	assert.Less(t, k.anchorTicks.Load(), ahead, "replaced")

	k = anchored(0, readTicks())
	k.anchorNanos.Store(k.precise() + int64(time.Hour))
	k.reanchor(0)
	assert.True(t, k.off.Load(), "clock backwards")
	assert.Zero(t, k.cal.mismatches.Load(), "fake time is not the counter's fault")

	k = anchored(0, readTicks())
	k.anchorNanos.Store(k.precise() - int64(time.Second))
	k.reanchor(0)
	assert.True(t, k.off.Load(), "the clock ran a second while the counter stood")
	assert.Equal(t, int32(1), k.cal.mismatches.Load())

	// A clock made outside a bubble and anchored first in one.
	k = &clock{base: time.Now(), cal: readyCalibrator()}
	synctest.Test(t, func(t *testing.T) {
		k.reanchor(0)
	})
	assert.True(t, k.off.Load(), "first anchor in a bubble")
}

// TestAClockMadeInASynctestBubbleReadsTheOSClock: the counter does not
// follow a bubble's fake time, so such a clock never uses it.
func TestAClockMadeInASynctestBubbleReadsTheOSClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		assert.True(t, newClock().off.Load())
	})
	if tscUsable() && tsc.state() != tscOff {
		assert.False(t, newClock().off.Load(), "outside a bubble, where the counter is usable")
	}
}

// calibrated waits (real time: the hardware's) until the process's
// calibration is done, looking up through k.
func calibrated(t *testing.T, k *clock) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for k.window.Load() == 0 {
		require.NotEqual(t, tscOff, tsc.state(), "the counter was turned off")
		require.False(t, k.off.Load(), "the clock turned the counter off")
		require.True(t, time.Now().Before(deadline), "not calibrated after 5s")
		k.liveAt(math.MaxInt64)
	}
}

// TestACacheMadeOutsideABubbleServesNoExpiredEntryInIt: a cache made and
// used outside a synctest bubble, then used in one, follows the bubble's
// fake time: its first anchor there finds the clock gone backwards (the
// bubble's time starts in 2000) and turns the counter off. (Before that
// anchor, converted time lies 26 years after the bubble's, so every entry
// written in the bubble is within the guard and decided by the OS clock,
// which the bubble fakes.)
func TestACacheMadeOutsideABubbleServesNoExpiredEntryInIt(t *testing.T) {
	if !tscUsable() {
		t.Skip("the time-stamp counter is not usable here")
	}
	c := newTestCache(t, Config[int, int]{Capacity: 100, CleanupInterval: -1})
	c.SetWithTTL(-1, -1, time.Hour)
	calibrated(t, c.clock)
	// Let the anchor go stale (4 windows of real time), so that the
	// bubble's first lookup takes a new one, in fake time.
	for from := readTicks(); readTicks()-from < 4*c.clock.window.Load(); {
	}
	synctest.Test(t, func(t *testing.T) {
		hits := 0
		for i := range 50 {
			c.SetWithTTL(i, i, time.Second)
			time.Sleep(2 * time.Second)
			if _, ok := c.Get(i); ok {
				hits++
			}
		}
		assert.Zero(t, hits, "entries served a second past their TTL")
	})
	assert.True(t, c.clock.off.Load(), "the anchor taken in the bubble turned the counter off")
}

// TestLookupsDecideAsTheOSClockWould runs on the real counter (skipped
// where it is not usable): two goroutines look up entries whose expiries
// lie within 3 ms either side of now, between two readings of the OS
// clock, for 200 ms (some 200 anchors, each checked against the one
// before). A hit comes before the expiry by the first reading, a miss at
// or after it by the second; and the counter is still in use at the end.
// (Which lookups the counter decided, TestLiveAtTrustsTheCounterOnlyForHitsBeyondTheGuard
// pins; converted time is too close to the clock's to tell here.)
func TestLookupsDecideAsTheOSClockWould(t *testing.T) {
	if !tscUsable() {
		t.Skip("the time-stamp counter is not usable here: lookups read the OS clock")
	}
	k := newClock()
	require.False(t, k.off.Load())
	calibrated(t, k)
	type result struct{ lookups, late, early int }
	results := make([]result, 2)
	end := time.Now().Add(200 * time.Millisecond)
	var wg sync.WaitGroup
	for g := range results {
		wg.Go(func() {
			r := &results[g]
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for time.Now().Before(end) {
				expires := k.precise() + rng.Int64N(int64(6*time.Millisecond)) - int64(3*time.Millisecond)
				if rng.IntN(4) == 0 {
					expires += int64(time.Hour) // decided by the counter
				}
				before := k.precise()
				live, _ := k.liveAt(expires)
				after := k.precise()
				r.lookups++
				if live && before >= expires {
					r.late++
				}
				if !live && after < expires {
					r.early++
				}
			}
		})
	}
	wg.Wait()
	anchors := k.seq.Load() / 2
	for g, r := range results {
		t.Logf("goroutine %d: %d lookups; %d anchors in all", g, r.lookups, anchors)
		assert.Zero(t, r.late, "hits at or after the expiry")
		assert.Zero(t, r.early, "misses before the expiry")
	}
	// An anchor serves a millisecond: 200 ms of lookups took about 200 on
	// an idle machine (fewer where the goroutines wait for a CPU; none
	// where the counter is off).
	assert.Greater(t, anchors, uint64(10), "the counter was hardly used")
	assert.False(t, k.off.Load(), "the clock turned the counter off")
	assert.NotEqual(t, tscOff, tsc.state(), "the counter was turned off")
}

// TestAnchorPairRefusesAWideBracket: an anchor pairs the clock with the
// middle of its two counter readings, and not at all when they lie more
// than window/tscBracketDivisor apart (the goroutine was descheduled
// between them) or out of order.
func TestAnchorPairRefusesAWideBracket(t *testing.T) {
	const window = 3_000_000
	ticks, ok := anchorPair(1_000, 1_000+window/tscBracketDivisor, window)
	assert.True(t, ok)
	assert.Equal(t, uint64(1_000+window/tscBracketDivisor/2), ticks)
	_, ok = anchorPair(1_000, 1_001+window/tscBracketDivisor, window)
	assert.False(t, ok, "too wide")
	_, ok = anchorPair(1_000, 999, window)
	assert.False(t, ok, "out of order")
}

// TestExpireAfterAccessSlidesFromTheOSClock: a sliding entry's new expiry
// counts from an OS clock reading, not from converted time, which may
// stray (here it runs half an hour ahead).
func TestExpireAfterAccessSlidesFromTheOSClock(t *testing.T) {
	c := newTestCache(t, Config[string, int]{TTL: time.Hour, ExpireAfterAccess: true, CleanupInterval: -1})
	c.Set("k", 1)
	stopCounter(c.clock, c.now()+int64(30*time.Minute))
	_, ok := c.Get("k")
	require.True(t, ok)
	after := c.now()
	s, h := c.shardFor("k")
	n := s.index.get("k", h)
	require.NotNil(t, n)
	assert.LessOrEqual(t, n.expires.Load(), after+int64(time.Hour), "slid from converted time")
}

// TestRefreshAheadIsDecidedByTheOSClockNearItsPoint: converted time may
// decide a GetOrLoad hit only up to tscGuard before the refresh point, as
// before an expiry. Here it lags 1 ms behind the refresh point while the
// OS clock is past it: the lookup starts a refresh.
func TestRefreshAheadIsDecidedByTheOSClockNearItsPoint(t *testing.T) {
	const ttl = time.Hour
	ahead := float64(5*time.Millisecond) / float64(ttl) // the refresh point 5 ms after the write
	c := newTestCache(t, Config[string, int]{TTL: ttl, RefreshAhead: ahead, CleanupInterval: -1})
	ctx := t.Context()
	loads := make(chan int, 4)
	loader := func(context.Context, string) (int, error) { loads <- 1; return 1, nil }
	_, err := c.GetOrLoad(ctx, "k", loader)
	require.NoError(t, err)
	<-loads
	s, h := c.shardFor("k")
	n := s.index.get("k", h)
	require.NotNil(t, n)
	point := c.refreshPoint(n)
	for c.now() < point { // real time: a few milliseconds
	}
	stopCounter(c.clock, point-int64(time.Millisecond))
	_, err = c.GetOrLoad(ctx, "k", loader)
	require.NoError(t, err)
	select {
	case <-loads:
	case <-time.After(5 * time.Second):
		t.Fatal("no refresh started past the refresh point")
	}
}

// TestTheClockSourceCheckDoesNotAllocate: the once-a-second check of the
// kernel's clock source runs inside a lookup, which must not allocate.
func TestTheClockSourceCheckDoesNotAllocate(t *testing.T) {
	if !tscUsable() {
		t.Skip("the time-stamp counter is not usable here")
	}
	require.True(t, tscStillSource())
	assert.Zero(t, testing.AllocsPerRun(100, func() { tscStillSource() }))
}
