package ratelimit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// referenceKeyed is the Keyed limiter as it was before its buckets moved
// inline (issue #22): one golang.org/x/time/rate bucket per key, a key idle
// past an IdleTimeout shorter than the refill time restarting with a full
// bucket. It holds every key (the replay stays under MaxKeys, where eviction
// order cannot matter), and is the oracle the new buckets are replayed
// against. With several windows it holds one x/time/rate bucket per window
// and takes from all of them only when each would grant the units.
type referenceKeyed struct {
	windows    []rateConfig
	idle       time.Duration
	idleResets bool
	keys       map[string]*referenceEntry
}

type referenceEntry struct {
	buckets  []*rate.Limiter
	lastUsed time.Time
}

func newReferenceKeyed(cfg KeyedConfig) *referenceKeyed {
	var windows []rateConfig
	var refill time.Duration
	if len(cfg.Windows) == 0 {
		cfg.Windows = []Window{{Limit: cfg.Limit, Period: cfg.Period, Burst: cfg.Burst}}
	}
	for _, w := range cfg.Windows {
		rc, err := validateRate("Window", w.Limit, w.Period, w.Burst)
		if err != nil {
			panic(err)
		}
		windows = append(windows, rc)
		refill = max(refill, rc.fullRefill())
	}
	idle := cfg.IdleTimeout
	if idle == 0 {
		idle = refill
	}
	return &referenceKeyed{windows: windows, idle: idle, idleResets: idle < refill, keys: map[string]*referenceEntry{}}
}

func (r *referenceKeyed) entry(key string, now time.Time) *referenceEntry {
	e, ok := r.keys[key]
	if ok && now.Sub(e.lastUsed) >= r.idle {
		// Idle past its timeout: the old limiter forgot it (or, with a short
		// timeout, replaced its bucket): a new, full bucket either way.
		ok = false
	}
	if !ok {
		e = &referenceEntry{}
		for _, w := range r.windows {
			e.buckets = append(e.buckets, rate.NewLimiter(w.rate(), w.burst))
		}
		r.keys[key] = e
	}
	e.lastUsed = now
	return e
}

// grants reports whether b.AllowN(now, n) would succeed, by the same
// arithmetic as x/time/rate's reserveN, without taking anything.
func grants(b *rate.Limiter, now time.Time, n int) bool {
	short := float64(n) - b.TokensAt(now)
	return n <= b.Burst() && (short <= 0 || time.Duration((short/float64(b.Limit()))*float64(time.Second)) == 0)
}

// take returns the reference decision for a take of n. Remaining and Reset
// are those of the first window (the replay compares them only with one).
func (r *referenceKeyed) take(key string, n int, now time.Time) Decision {
	e := r.entry(key, now)
	ok := true
	for _, b := range e.buckets {
		ok = ok && grants(b, now, n)
	}
	if ok {
		for _, b := range e.buckets {
			if !b.AllowN(now, n) {
				panic("reference: a bucket that grants refused")
			}
		}
	}
	return DecisionFromTokens(ok, e.buckets[0].TokensAt(now), r.windows[0].burst, r.windows[0].interval())
}

// TestKeyedReplaysTheReferenceDecisions replays random sequences of calls
// (random rates, bursts, idle timeouts, keys and gaps, including gaps of
// exactly whole intervals, where rounding would show) through the old
// x/time/rate buckets and the new inline ones, and requires the same
// decision, the same remaining count and the same reset time at every step.
func TestKeyedReplaysTheReferenceDecisions(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 22))
	const sequences, steps = 300, 2000
	for seq := range sequences {
		cfg := KeyedConfig{
			Limit:  1 + rng.IntN(1000),
			Period: time.Millisecond + time.Duration(rng.Int64N(int64(2*time.Hour))),
			Burst:  1 + rng.IntN(60),
		}
		if seq%3 == 0 {
			cfg.Period = []time.Duration{time.Second, time.Minute, time.Hour}[rng.IntN(3)]
		}
		switch rng.IntN(3) {
		case 1: // shorter than the refill time: idle keys restart full
			cfg.IdleTimeout = time.Duration(1 + rng.Int64N(int64(cfg.Period)))
		case 2: // longer
			cfg.IdleTimeout = 3 * cfg.Period * time.Duration(cfg.Burst)
		}
		k, err := NewKeyed(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ref := newReferenceKeyed(cfg)
		interval := int64(cfg.Period) / int64(cfg.Limit)
		base := time.Now()
		var now int64
		keys := 1 + rng.IntN(20)
		for step := range steps {
			switch rng.IntN(6) {
			case 0: // same instant
			case 1: // whole intervals: the boundary
				now += interval * (1 + rng.Int64N(3))
			case 2: // a long pause, past the idle timeout and the refill
				now += rng.Int64N(int64(cfg.IdleTimeout+cfg.Period) * 2)
			default: // up to an interval
				now += rng.Int64N(interval + 1)
			}
			key := fmt.Sprint("key-", rng.IntN(keys))
			want := ref.take(key, 1, base.Add(time.Duration(now)))
			var got Decision
			if rng.IntN(2) == 0 {
				got = k.takeAt(key, 1, now)
			} else {
				got = Decision{Allowed: k.allowAt(key, 1, now)}
				want = Decision{Allowed: want.Allowed}
			}
			// The old buckets computed Reset in float64 from an interval
			// truncated to whole nanoseconds; the new ones exactly. They may
			// differ by that rounding, never by more.
			if closeDuration(got.Reset, want.Reset) && closeDuration(got.RetryAfter, want.RetryAfter) {
				got.Reset, got.RetryAfter = want.Reset, want.RetryAfter
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("sequence %d step %d (%+v, key %s at %dns): got %+v, the reference %+v",
					seq, step, cfg, key, now, got, want)
			}
		}
		_ = k.Close()
	}
}

func closeDuration(a, b time.Duration) bool { return a-b <= 2 && b-a <= 2 }

// TestKeyedSeveralWindowsReplayTheReference replays random sequences of
// weighted takes through a limiter with two or three windows and through
// one x/time/rate bucket per window taken from only when all of them grant
// the cost: the same decisions at every step, and the most restrictive
// window's Remaining.
func TestKeyedSeveralWindowsReplayTheReference(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 23))
	const sequences, steps = 200, 2000
	for seq := range sequences {
		var cfg KeyedConfig
		period := time.Millisecond + time.Duration(rng.Int64N(int64(time.Minute)))
		limit := 1 + rng.IntN(100)
		for i := range 2 + rng.IntN(2) {
			cfg.Windows = append(cfg.Windows, Window{
				Name:   fmt.Sprint("w", i),
				Limit:  limit,
				Period: period,
				Burst:  1 + rng.IntN(limit+10),
			})
			// Each window is slower than the one before, as in 100/min and
			// 1,000/h.
			period *= time.Duration(2 + rng.IntN(30))
			limit *= 1 + rng.IntN(15)
		}
		if seq%2 == 0 {
			cfg.IdleTimeout = time.Duration(1 + rng.Int64N(int64(cfg.Windows[0].Period)))
		}
		k, err := NewKeyed(cfg)
		if err != nil {
			t.Fatal(err)
		}
		minBurst := k.minBurst()
		ref := newReferenceKeyed(cfg)
		fastest := int64(cfg.Windows[0].Period) / int64(cfg.Windows[0].Limit)
		base := time.Now()
		var now int64
		for step := range steps {
			if rng.IntN(8) == 0 {
				now += rng.Int64N(int64(cfg.Windows[len(cfg.Windows)-1].Period))
			} else {
				now += rng.Int64N(2*fastest + 1)
			}
			key := fmt.Sprint("key-", rng.IntN(5))
			n := 1 + rng.IntN(min(minBurst, 4))
			want := ref.take(key, n, base.Add(time.Duration(now)))
			got := k.takeAt(key, int64(n), now)
			if got.Allowed != want.Allowed {
				t.Fatalf("sequence %d step %d (%+v, key %s, cost %d at %dns): allowed %v, the reference %v",
					seq, step, cfg.Windows, key, n, now, got.Allowed, want.Allowed)
			}
			remaining := math.MaxInt
			for _, b := range ref.keys[key].buckets {
				remaining = min(remaining, max(0, int(math.Floor(b.TokensAt(base.Add(time.Duration(now)))))))
			}
			if got.Remaining != remaining || len(got.Policies) != len(cfg.Windows) {
				t.Fatalf("sequence %d step %d: remaining %d over %d policies, the reference %d",
					seq, step, got.Remaining, len(got.Policies), remaining)
			}
		}
		_ = k.Close()
	}
}
