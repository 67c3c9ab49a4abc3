package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// referenceKeyed is the Keyed limiter as it was before its buckets moved
// inline (issue #22): one golang.org/x/time/rate bucket per key, a key idle
// past an IdleTimeout shorter than the refill time restarting with a full
// bucket. It holds every key (the replay stays under MaxKeys, where eviction
// order cannot matter), and is the oracle the new buckets are replayed
// against.
type referenceKeyed struct {
	cfg        rateConfig
	idle       time.Duration
	idleResets bool
	keys       map[string]*referenceEntry
}

type referenceEntry struct {
	bucket   *rate.Limiter
	lastUsed time.Time
}

func newReferenceKeyed(cfg KeyedConfig) *referenceKeyed {
	rc, err := validateRate("KeyedConfig", cfg.Limit, cfg.Period, cfg.Burst)
	if err != nil {
		panic(err)
	}
	idle := cfg.IdleTimeout
	if idle == 0 {
		idle = rc.fullRefill()
	}
	return &referenceKeyed{cfg: rc, idle: idle, idleResets: idle < rc.fullRefill(), keys: map[string]*referenceEntry{}}
}

func (r *referenceKeyed) entry(key string, now time.Time) *referenceEntry {
	e, ok := r.keys[key]
	if ok && now.Sub(e.lastUsed) >= r.idle {
		// Idle past its timeout: the old limiter forgot it (or, with a short
		// timeout, replaced its bucket): a new, full bucket either way.
		ok = false
	}
	if !ok {
		e = &referenceEntry{bucket: rate.NewLimiter(r.cfg.rate(), r.cfg.burst)}
		r.keys[key] = e
	}
	e.lastUsed = now
	return e
}

func (r *referenceKeyed) take(key string, now time.Time) Decision {
	b := r.entry(key, now).bucket
	ok := b.AllowN(now, 1)
	return DecisionFromTokens(ok, b.TokensAt(now), r.cfg.burst, r.cfg.interval())
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
			want := ref.take(key, base.Add(time.Duration(now)))
			var got Decision
			if rng.IntN(2) == 0 {
				got = k.takeAt(key, now)
			} else {
				got = Decision{Allowed: k.allowAt(key, now)}
				want = Decision{Allowed: want.Allowed}
			}
			// The old buckets computed Reset in float64 from an interval
			// truncated to whole nanoseconds; the new ones exactly. They may
			// differ by that rounding, never by more.
			if closeDuration(got.Reset, want.Reset) && closeDuration(got.RetryAfter, want.RetryAfter) {
				got.Reset, got.RetryAfter = want.Reset, want.RetryAfter
			}
			if got != want {
				t.Fatalf("sequence %d step %d (%+v, key %s at %dns): got %+v, the reference %+v",
					seq, step, cfg, key, now, got, want)
			}
		}
		_ = k.Close()
	}
}

func closeDuration(a, b time.Duration) bool { return a-b <= 2 && b-a <= 2 }
