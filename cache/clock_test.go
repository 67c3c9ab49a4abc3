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
// returned by Get at every instant before d and at none from d on,
// whatever other lookups did just before (an entry far from its expiry
// is read before each probe: a lookup path that reused a recent reading
// of the clock would be caught here). Each probe has its own key (a probe
// at or after d removes its entry).
func TestGetHonoursTheTTLToTheNanosecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const d = 200 * time.Millisecond
		c := newTestCache(t, Config[int, int]{Capacity: 10_000, CleanupInterval: -1})
		start := time.Now()

		type probe struct {
			at      time.Duration // since the write
			refresh time.Duration // how long before it another lookup ran
		}
		var probes []probe
		for _, at := range []time.Duration{
			d - 1, d, d + 1,
			d - time.Millisecond - 1, d - time.Millisecond, d - time.Millisecond + 1,
			d - 25*time.Millisecond, d + 25*time.Millisecond,
		} {
			for _, refresh := range []time.Duration{0, 1, 500 * time.Microsecond, time.Millisecond, 30 * time.Millisecond} {
				probes = append(probes, probe{at, refresh})
			}
		}
		// And at random instants, most of them near the expiry.
		rng := rand.New(rand.NewPCG(5, 6))
		for range 400 {
			at := time.Duration(rng.Int64N(int64(2 * d)))
			if rng.IntN(2) == 0 {
				at = d - 50*time.Millisecond + time.Duration(rng.Int64N(int64(75*time.Millisecond)))
			}
			probes = append(probes, probe{at, time.Duration(rng.Int64N(int64(time.Millisecond)))})
		}
		slices.SortFunc(probes, func(a, b probe) int { return int(a.at - b.at) })

		const otherKey = -1
		c.SetWithTTL(otherKey, 0, time.Hour)
		for i := range probes {
			c.SetWithTTL(i, i, d)
		}
		for i, p := range probes {
			if wait := p.at - p.refresh - time.Since(start); wait > 0 {
				time.Sleep(wait)
				_, ok := c.Get(otherKey)
				require.True(t, ok)
			}
			if wait := p.at - time.Since(start); wait > 0 {
				time.Sleep(wait)
			}
			require.Equal(t, p.at, time.Since(start))
			_, ok := c.Get(i)
			require.Equal(t, p.at < d, ok, "Get at %v after a write with TTL %v (another lookup %v before)", p.at, d, p.refresh)
		}
	})
}

// TestGetAcrossTheExpiryRightAfterAHit: a Get just before the expiry hits;
// a Get at the expiry, however soon after, misses.
func TestGetAcrossTheExpiryRightAfterAHit(t *testing.T) {
	for _, d := range []time.Duration{time.Millisecond, 25 * time.Millisecond, time.Minute} {
		for _, before := range []time.Duration{1, 500 * time.Microsecond, time.Millisecond - 1} {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCache(t, Config[string, int]{TTL: d, CleanupInterval: -1})
				c.Set("k", 1)
				time.Sleep(d - before)
				_, ok := c.Get("k")
				require.True(t, ok, "TTL %v: %v before the expiry", d, before)
				time.Sleep(before)
				_, ok = c.Get("k")
				assert.False(t, ok, "TTL %v: at the expiry, %v after the last hit", d, before)
			})
		}
	}
}

// TestAnIdleCacheRunsNoTimer: lookups start no timer and no goroutine, so
// an idle cache costs nothing and a closed one leaves nothing behind.
func TestAnIdleCacheRunsNoTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ignore := goleak.IgnoreCurrent()
		c, err := New(Config[string, int]{TTL: 24 * time.Hour, CleanupInterval: -1})
		require.NoError(t, err)
		c.Set("k", 1)
		created := goroutinesCreated()
		for range 1000 {
			_, ok := c.Get("k")
			require.True(t, ok)
			time.Sleep(time.Millisecond)
		}
		synctest.Wait()
		// The slack is for goroutines of the test framework, outside the
		// bubble; a goroutine per lookup or per millisecond would be 1000.
		assert.Less(t, goroutinesCreated()-created, uint64(100), "lookups start no goroutine")
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

// TestExpireAfterAccessWithHitsCloserThanAMillisecond: hits close
// together slide the expiry: the entry lives until exactly TTL after its
// last hit.
func TestExpireAfterAccessWithHitsCloserThanAMillisecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			ttl = 20 * time.Millisecond
			gap = 300 * time.Microsecond
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
		time.Sleep(ttl - 1)
		_, ok := c.Get("early")
		assert.True(t, ok, "alive 1ns before TTL after the last hit")
		time.Sleep(time.Nanosecond)
		require.Equal(t, ttl, time.Since(lastHit))
		_, ok = c.Get("late")
		assert.False(t, ok, "expired TTL after the last hit")
	})
}

// TestSetStampsEveryTTLWithTheRealClock: an entry lives exactly its TTL
// from its Set, long TTLs included, even right after other lookups.
func TestSetStampsEveryTTLWithTheRealClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCache(t, Config[string, int]{CleanupInterval: -1})
		c.SetWithTTL("other", 0, 24*time.Hour)
		for _, ttl := range []time.Duration{time.Millisecond, time.Second, time.Hour} {
			_, ok := c.Get("other")
			require.True(t, ok)
			time.Sleep(700 * time.Microsecond)
			c.SetWithTTL("k", 1, ttl)
			time.Sleep(ttl - 1)
			_, ok = c.Get("k")
			assert.True(t, ok, "TTL %v: live 1ns before it", ttl)
			time.Sleep(time.Nanosecond)
			_, ok = c.Get("k")
			assert.False(t, ok, "TTL %v: expired at it", ttl)
		}
	})
}
