package cache

import (
	"math/rand/v2"
	"runtime/metrics"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestGetHonoursTheTTLToTheNanosecond: an entry written with TTL d is
// returned by Get at every instant before d and at none from d on, with
// the lookups reading the coarse clock: each probe follows, by less than
// clockResolution, a lookup that refreshed the coarse reading, so the
// probe's check starts from a reading up to clockResolution old. Each
// probe has its own key (a probe at or after d removes its entry).
func TestGetHonoursTheTTLToTheNanosecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const d = 8 * clockSlack
		c := newTestCache(t, Config[int, int]{Capacity: 10_000, CleanupInterval: -1})
		start := time.Now()

		type probe struct {
			at      time.Duration // since the write
			refresh time.Duration // how long before it a lookup reads the clock (< clockResolution)
		}
		var probes []probe
		// At the expiry and where the coarse check hands over to the
		// precise one, with and without a fresh coarse reading just before.
		for _, at := range []time.Duration{
			d - 1, d, d + 1,
			d - clockSlack - 1, d - clockSlack, d - clockSlack + 1,
			d - clockResolution - 1, d - clockResolution, d - clockResolution + 1,
		} {
			for _, refresh := range []time.Duration{0, 1, clockResolution / 2, clockResolution - 1} {
				probes = append(probes, probe{at, refresh})
			}
		}
		// And at random instants, most of them near the expiry.
		rng := rand.New(rand.NewPCG(5, 6))
		for range 400 {
			at := time.Duration(rng.Int64N(int64(2 * d)))
			if rng.IntN(2) == 0 {
				at = d - 2*clockSlack + time.Duration(rng.Int64N(int64(3*clockSlack)))
			}
			probes = append(probes, probe{at, time.Duration(rng.Int64N(int64(clockResolution)))})
		}
		slices.SortFunc(probes, func(a, b probe) int { return int(a.at - b.at) })

		// An entry far from its expiry: reading it refreshes the coarse
		// clock (an entry without TTL would not read the clock at all).
		const clockKey = -1
		c.SetWithTTL(clockKey, 0, time.Hour)
		for i := range probes {
			c.SetWithTTL(i, i, d)
		}
		for i, p := range probes {
			if wait := p.at - p.refresh - time.Since(start); wait > 0 {
				time.Sleep(wait)
				_, ok := c.Get(clockKey)
				require.True(t, ok)
			}
			if wait := p.at - time.Since(start); wait > 0 {
				time.Sleep(wait)
			}
			require.Equal(t, p.at, time.Since(start))
			_, ok := c.Get(i)
			require.Equal(t, p.at < d, ok, "Get at %v after a write with TTL %v (coarse clock read %v before)", p.at, d, p.refresh)
		}
	})
}

// TestGetAcrossTheExpiryRightAfterTheCoarseClockWasRead: a Get just
// before the expiry stores a coarse reading; a Get less than
// clockResolution later, past the expiry, must not trust it.
func TestGetAcrossTheExpiryRightAfterTheCoarseClockWasRead(t *testing.T) {
	for _, d := range []time.Duration{time.Millisecond, clockSlack, clockSlack + clockResolution, time.Minute} {
		for _, before := range []time.Duration{1, clockResolution / 2, clockResolution - 1} {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCache(t, Config[string, int]{TTL: d, CleanupInterval: -1})
				c.Set("k", 1)
				time.Sleep(d - before)
				_, ok := c.Get("k") // reads the clock: the coarse reading is now fresh
				require.True(t, ok, "TTL %v: %v before the expiry", d, before)
				require.NotZero(t, c.clock.coarse.Load(), "a coarse reading is in use")
				time.Sleep(before)
				_, ok = c.Get("k")
				assert.False(t, ok, "TTL %v: at the expiry, %v after the coarse reading", d, before)
			})
		}
	}
}

// TestCoarseClockStopsWhenTheCacheIsIdle: the coarse reading is dropped
// clockResolution after it was taken, nothing refreshes it while nobody
// reads, and a closed cache leaves no goroutine behind.
func TestCoarseClockStopsWhenTheCacheIsIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ignore := goleak.IgnoreCurrent()
		c, err := New(Config[string, int]{TTL: 24 * time.Hour, CleanupInterval: -1})
		require.NoError(t, err)
		c.Set("k", 1)
		for range 3 {
			_, ok := c.Get("k")
			require.True(t, ok)
			reading := c.clock.coarse.Load()
			require.NotZero(t, reading, "a lookup stores a coarse reading")
			time.Sleep(clockResolution / 2)
			_, _ = c.Get("k")
			assert.Equal(t, reading, c.clock.coarse.Load(), "a reading younger than clockResolution is reused")
			time.Sleep(clockResolution / 2)
			synctest.Wait() // the timer's function has run
			assert.Zero(t, c.clock.coarse.Load(), "the reading is dropped after clockResolution")
			created := goroutinesCreated()
			time.Sleep(10 * time.Second)
			synctest.Wait()
			assert.Zero(t, c.clock.coarse.Load(), "an idle cache keeps no clock running")
			// A timer firing every clockResolution would have started
			// 10 000 goroutines (time.AfterFunc runs each call in one);
			// the slack is for goroutines of the test framework, outside
			// the bubble.
			assert.Less(t, goroutinesCreated()-created, uint64(100), "no timer fires while the cache is idle")
		}
		require.NoError(t, c.Close())
		synctest.Wait()
		goleak.VerifyNone(t, ignore)
	})
}

// goroutinesCreated is the number of goroutines the program started.
func goroutinesCreated() uint64 {
	sample := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// TestExpireAfterAccessWithHitsCloserThanTheClockResolution: hits so
// close together that they read the coarse clock still slide the expiry:
// the entry lives until TTL after its last hit, less at most
// clockResolution (the age of the coarse reading the hit used), and no
// longer than TTL after it.
func TestExpireAfterAccessWithHitsCloserThanTheClockResolution(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			ttl = 20 * time.Millisecond
			gap = 300 * time.Microsecond // < clockResolution
		)
		c := newTestCache(t, Config[string, int]{TTL: ttl, ExpireAfterAccess: true, CleanupInterval: -1})
		start := time.Now()
		c.Set("early", 1) // probed just before the bound
		c.Set("late", 2)  // probed at TTL after the last hit
		for time.Since(start) < 5*ttl {
			time.Sleep(gap)
			for _, k := range []string{"early", "late"} {
				_, ok := c.Get(k)
				require.True(t, ok, "%s: hit at %v keeps the entry", k, time.Since(start))
			}
		}
		lastHit := time.Now()
		time.Sleep(ttl - clockResolution - 1)
		_, ok := c.Get("early")
		assert.True(t, ok, "alive TTL - clockResolution - 1ns after the last hit: a hit's coarse reading is at most clockResolution old")
		time.Sleep(clockResolution + 1)
		require.Equal(t, ttl, time.Since(lastHit))
		_, ok = c.Get("late")
		assert.False(t, ok, "expired TTL after the last hit: no reading is ahead of the real clock")
	})
}

// TestSetStampsLongTTLsWithTheCoarseClock: a Set with a TTL of at least
// coarseWriteTTL is stamped with the coarse reading, so the entry expires
// up to that reading's age early and never late; a shorter TTL is stamped
// with the real clock and expires exactly.
func TestSetStampsLongTTLsWithTheCoarseClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCache(t, Config[string, int]{CleanupInterval: -1})
		start := time.Now()
		c.SetWithTTL("clock", 0, time.Hour)
		_, ok := c.Get("clock") // a fresh coarse reading at start
		require.True(t, ok)
		const age = clockResolution / 2
		time.Sleep(age)
		c.SetWithTTL("long", 1, coarseWriteTTL)
		c.SetWithTTL("short", 2, coarseWriteTTL-1)

		time.Sleep(coarseWriteTTL - age - 1) // 1 ns before the long TTL, counted from start
		_, ok = c.Get("long")
		assert.True(t, ok, "live until its coarse stamp plus TTL")
		time.Sleep(time.Nanosecond)
		_, ok = c.Get("long")
		assert.False(t, ok, "expires %v early: the coarse reading's age at the Set", age)
		assert.Equal(t, coarseWriteTTL, time.Since(start))

		time.Sleep(age - 2) // 1 ns before the short TTL, counted from its Set
		_, ok = c.Get("short")
		assert.True(t, ok, "a short TTL is measured from the real clock")
		time.Sleep(time.Nanosecond)
		_, ok = c.Get("short")
		assert.False(t, ok)
	})
}
