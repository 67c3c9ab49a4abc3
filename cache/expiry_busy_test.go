package cache

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNoHitAfterTheExpiryWithEveryPSpinning is the setting of issue #23:
// every P (and as many goroutines again, waiting in the run queue) spins
// on Get, so the Go scheduler runs timers late, and entries with TTLs of
// 1 to 40 ms must still stop being served at their expiry. It uses the
// real clock, because what it tests is the Go scheduler.
//
// It cannot flake: each probe reads the OS clock (t0) before its Get,
// and each entry's expiry instant is at the latest the instant after its
// SetWithTTL returned plus the TTL (deadline). A Get that starts at or
// after deadline must miss (doc.go, Expiry), however late timers run and
// however long the OS leaves the process waiting. The bound the issue
// asks for, TTL + 5 ms, is looser than that; the test asserts the exact
// rule. Before the fix (a coarse clock aged by a timer) it saw hits up to
// 15 ms late on 2 cores (the runs, hundreds of milliseconds).
func TestNoHitAfterTheExpiryWithEveryPSpinning(t *testing.T) {
	const keys = 40 // TTL of key i: i+1 ms
	procs := runtime.GOMAXPROCS(0)
	spinners := 2 * procs
	rounds := 3
	if testing.Short() {
		rounds = 1
	}
	for round := range rounds {
		c := newTestCache(t, Config[int, int]{Capacity: 1000, CleanupInterval: -1})
		// Where the time-stamp counter is usable, lookups time themselves
		// by it (tsc.go) once it is calibrated, within the first round
		// (unless the process turned it off, which the log shows).
		if tscUsable() && tsc.state() != tscOff {
			require.False(t, c.clock.off.Load())
		}
		// An entry that never expires soon, read first by every spinner:
		// a lookup path that keeps a clock reading would take it here.
		c.SetWithTTL(-1, -1, time.Hour)
		deadlines := make([]time.Time, keys)
		for i := range keys {
			ttl := time.Duration(i+1) * time.Millisecond
			c.SetWithTTL(i, i, ttl)
			deadlines[i] = time.Now().Add(ttl)
		}
		end := deadlines[keys-1].Add(60 * time.Millisecond)

		type result struct {
			hitsBefore, probesAfter int
			lateHits                int
			worstLate               time.Duration // largest t0 - deadline of a hit, if positive
		}
		results := make([]result, spinners)
		var wg sync.WaitGroup
		for g := range spinners {
			wg.Go(func() {
				r := &results[g]
				for i := 0; ; i = (i + 1) % keys {
					_, ok := c.Get(-1)
					if !ok {
						r.lateHits = -1 // the long-lived entry vanished: reported below
						return
					}
					t0 := time.Now()
					if t0.After(end) {
						return
					}
					_, ok = c.Get(i)
					late := t0.Sub(deadlines[i])
					switch {
					case late >= 0 && ok:
						r.lateHits++
						r.worstLate = max(r.worstLate, late)
					case late >= 0:
						r.probesAfter++
					case ok:
						r.hitsBefore++
					}
				}
			})
		}
		wg.Wait()

		var total result
		for _, r := range results {
			require.NotEqual(t, -1, r.lateHits, "round %d: an entry with a TTL of an hour was not found", round)
			total.hitsBefore += r.hitsBefore
			total.probesAfter += r.probesAfter
			total.lateHits += r.lateHits
			total.worstLate = max(total.worstLate, r.worstLate)
		}
		t.Logf("round %d: %d spinners on %d Ps: %d hits before the expiries, %d probes after them, %d late hits (worst %v after the expiry); lookups timed by the counter: %v",
			round, spinners, procs, total.hitsBefore, total.probesAfter, total.lateHits, total.worstLate, c.clock.window.Load() != 0)
		// The test measures something only if the entries were read on
		// both sides of their expiries.
		require.Positive(t, total.hitsBefore, "round %d: no hit before the expiries", round)
		require.Positive(t, total.probesAfter, "round %d: no probe after the expiries", round)
		assert.Zero(t, total.lateHits, "round %d: Get served entries after their expiry (worst %v late; the issue's bound is 5ms)", round, total.worstLate)
	}
}
