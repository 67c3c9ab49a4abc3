package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// DefaultMaxKeys is the number of keys a Keyed limiter tracks when
// KeyedConfig.MaxKeys is zero.
const DefaultMaxKeys = 100_000

// maxShards bounds the number of independently locked parts of a Keyed
// limiter; minShardKeys keeps every part large enough that uneven hashing
// does not evict early.
const (
	maxShards    = 32
	minShardKeys = 64
)

// KeyedConfig configures a Keyed limiter: one token bucket per key (API key,
// user, client IP), each refilling at Limit units per Period with capacity
// Burst, kept in a bounded table.
type KeyedConfig struct {
	// Name identifies the limiter in errors, metrics and HTTP headers.
	// Default "default".
	Name string
	// Limit is the number of units restored per Period to each key's bucket.
	// Required (> 0).
	Limit int
	// Period is the time over which Limit units are restored. Default 1s.
	Period time.Duration
	// Burst is each bucket's capacity. Default Limit.
	Burst int
	// MaxKeys bounds how many keys are tracked at once, and so the memory
	// used whatever the number of distinct keys. When it is reached, a key
	// not used recently is forgotten (CLOCK, an approximation of least
	// recently used); if that key was still active it starts again with a
	// full bucket (counted by keel.ratelimit.keys.evicted).
	// Default DefaultMaxKeys.
	MaxKeys int
	// IdleTimeout is how long a key may go unused before it is forgotten.
	// Default: the time an empty bucket takes to refill, so forgetting an
	// idle key never changes a decision. A shorter timeout saves memory but
	// lets a key that pauses that long start again with a full bucket.
	IdleTimeout time.Duration
	// Windows holds each key to several limits at once (e.g. 100 per minute
	// and 1,000 per hour): a call is allowed only when every window grants
	// it, and then it is taken from all of them, atomically. When set,
	// Limit, Period and Burst must be zero. At most 8 windows.
	Windows []Window
	// MeterProvider supplies the meter. Default: the otel global.
	MeterProvider metric.MeterProvider
	// TracerProvider supplies the tracer for waits. Default: the otel global.
	TracerProvider trace.TracerProvider
}

// keyedWindows validates the rate fields of cfg: Limit, Period and Burst, or
// Windows.
func keyedWindows(cfg KeyedConfig) ([]window, error) {
	if len(cfg.Windows) == 0 {
		rc, err := validateRate("KeyedConfig", cfg.Limit, cfg.Period, cfg.Burst)
		if err != nil {
			return nil, err
		}
		w, err := newWindow(rc)
		if err != nil {
			return nil, fmt.Errorf("ratelimit: KeyedConfig: %w", err)
		}
		return []window{w}, nil
	}
	return validateWindows("ratelimit: KeyedConfig", cfg.Windows, cfg.Limit != 0 || cfg.Period != 0 || cfg.Burst != 0)
}

// validateWindows checks a Windows list; prefix starts every error
// ("ratelimit: KeyedConfig"). rateSet says the single-rate fields are set too.
func validateWindows(prefix string, ws []Window, rateSet bool) ([]window, error) {
	if rateSet {
		return nil, fmt.Errorf("%s: set either Limit, Period and Burst or Windows, not both", prefix)
	}
	if len(ws) > maxWindows {
		return nil, fmt.Errorf("%s.Windows: at most %d windows, got %d", prefix, maxWindows, len(ws))
	}
	out := make([]window, len(ws))
	seen := map[string]bool{}
	for i, w := range ws {
		field := fmt.Sprintf("Windows[%d]", i)
		if w.Name == "" {
			return nil, fmt.Errorf("%s.%s.Name is required", prefix, field)
		}
		if err := validPolicyName(w.Name); err != nil {
			return nil, fmt.Errorf("%s.%s.Name: %w", prefix, field, err)
		}
		if seen[w.Name] {
			return nil, fmt.Errorf("%s.%s.Name %q is used by another window", prefix, field, w.Name)
		}
		seen[w.Name] = true
		rc, err := validateRate(strings.TrimPrefix(prefix, "ratelimit: ")+"."+field, w.Limit, w.Period, w.Burst)
		if err != nil {
			return nil, err
		}
		if out[i], err = newWindow(rc); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", prefix, field, err)
		}
		out[i].name = w.Name
	}
	return out, nil
}

// Keyed is a set of token buckets, one per key, held in a bounded table with
// idle expiry. It is safe for concurrent use. Allow on a key already tracked
// does not allocate.
type Keyed struct {
	windows []window
	name    string
	// idleNs is IdleTimeout in nanoseconds of the limiter's clock.
	idleNs int64
	// idleResets is true when IdleTimeout is shorter than the time a bucket
	// takes to refill, so an idle key's bucket must be replaced by a full one.
	idleResets bool
	// epoch is the origin of the limiter's clock. time.Since(epoch) reads
	// only the monotonic clock, which costs about half of time.Now (wall
	// and monotonic) on the hot path.
	epoch  time.Time
	seed   maphash.Seed
	mask   uint64
	shards []keyedShard
	tel    *telemetry
	once   sync.Once
}

// maxEvictionsPerInsert bounds the slots an insert inspects to forget idle
// keys, so that one call never pays for a long quiet period.
const maxEvictionsPerInsert = 8

// NewKeyed returns a Keyed limiter, or an error naming the first invalid
// KeyedConfig field.
func NewKeyed(cfg KeyedConfig) (*Keyed, error) {
	windows, err := keyedWindows(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.MaxKeys < 0 {
		return nil, fmt.Errorf("ratelimit: KeyedConfig.MaxKeys must be >= 0 (0 means %d), got %d", DefaultMaxKeys, cfg.MaxKeys)
	}
	if cfg.IdleTimeout < 0 {
		return nil, fmt.Errorf("ratelimit: KeyedConfig.IdleTimeout must be >= 0 (0 means the full refill time), got %s", cfg.IdleTimeout)
	}
	maxKeys := cfg.MaxKeys
	if maxKeys == 0 {
		maxKeys = DefaultMaxKeys
	}
	refill := fullRefill(windows)
	idle := cfg.IdleTimeout
	if idle == 0 {
		idle = refill
	}
	n := maxShards
	for n > 1 && maxKeys/n < minShardKeys {
		n /= 2
	}
	k := &Keyed{
		windows:    windows,
		name:       nameOr(cfg.Name),
		idleNs:     int64(idle),
		idleResets: idle < refill,
		epoch:      time.Now(),
		seed:       maphash.MakeSeed(),
		mask:       uint64(n - 1),
		shards:     make([]keyedShard, n),
	}
	for i := range k.shards {
		// Each shard holds an equal share; the total never exceeds maxKeys.
		k.shards[i].init(max(maxKeys/n, 1), len(windows))
	}
	if err := k.instrument(cfg); err != nil {
		return nil, err
	}
	return k, nil
}

// fullRefill is the time the slowest window's empty bucket takes to fill.
func fullRefill(ws []window) time.Duration {
	var d time.Duration
	for i := range ws {
		d = max(d, ws[i].fullRefill())
	}
	return d
}

func (k *Keyed) instrument(cfg KeyedConfig) error {
	var err error
	k.tel, err = newTelemetry(k.name, cfg.MeterProvider, cfg.TracerProvider)
	if err != nil {
		return err
	}
	decisions, err := k.tel.decisionsCounter()
	if err != nil {
		return err
	}
	keys, err := k.tel.meter.Int64ObservableGauge("keel.ratelimit.keys",
		metric.WithUnit("{key}"),
		metric.WithDescription("Keys a keyed limiter currently tracks."))
	if err != nil {
		return err
	}
	evicted, err := k.tel.meter.Int64ObservableCounter("keel.ratelimit.keys.evicted",
		metric.WithUnit("{key}"),
		metric.WithDescription("Keys forgotten while still active because MaxKeys was reached; each restarts with a full bucket."))
	if err != nil {
		return err
	}
	nameOnly := metric.WithAttributes(attrName.String(k.name))
	// The callback holds the shards (their own allocation), never k.
	shards, allowedOpt, limitedOpt := k.shards, k.tel.allowed, k.tel.limited
	return register(k.tel, k, func(_ context.Context, o metric.Observer) error {
		var allowed, limited, ev, n int64
		for i := range shards {
			s := &shards[i]
			s.mu.Lock()
			allowed += s.allowed
			limited += s.limited
			ev += s.evicted
			n += int64(s.tracked())
			s.mu.Unlock()
		}
		o.ObserveInt64(decisions, allowed, allowedOpt)
		o.ObserveInt64(decisions, limited, limitedOpt)
		o.ObserveInt64(keys, n, nameOnly)
		o.ObserveInt64(evicted, ev, nameOnly)
		return nil
	}, decisions, keys, evicted)
}

// now reads the limiter's clock: nanoseconds since it was created.
func (k *Keyed) now() int64 { return int64(time.Since(k.epoch)) }

// shard returns key's shard and key's hash, which the shard's index reuses.
func (k *Keyed) shard(key string) (*keyedShard, uint64) {
	h := maphash.String(k.seed, key)
	return &k.shards[h&k.mask], h
}

// idle reports whether slot i's key has gone unused for IdleTimeout.
func (k *Keyed) idle(s *keyedShard, i int32, now int64) bool {
	return now-s.slots[i].idleFrom >= k.idleNs
}

// slot returns key's slot, creating it when key is new. A key idle past an
// IdleTimeout shorter than the refill time gets a full bucket, exactly as a
// new key would. The caller holds s.mu.
func (k *Keyed) slot(s *keyedShard, key string, h uint64, now int64) int32 {
	i := s.lookup(key, h)
	if i < 0 {
		return s.insert(k, key, h, now)
	}
	sl := &s.slots[i]
	sl.referenced = true
	if k.idleResets && k.idle(s, i, now) {
		sl.debt = 0
		clear(s.extraOf(k, i))
	}
	// A refused call is use too: a key that keeps calling is not idle.
	sl.idleFrom = max(sl.idleFrom, now)
	return i
}

// maxWindows bounds KeyedConfig.Windows, so that a take can hold every
// window's new debt on the stack.
const maxWindows = 8

// take takes n units from every window of slot i at now if each can grant
// them within maxWait, and reports whether it did and how long until they
// are due (0 when they are available now). Nothing is taken unless every
// window grants the units. The caller holds s.mu.
func (k *Keyed) take(s *keyedShard, i int32, n int64, now int64, maxWait time.Duration) (time.Duration, bool) {
	sl := &s.slots[i]
	elapsed := now - sl.last
	w0 := &k.windows[0]
	if n > int64(w0.burst) {
		return 0, false
	}
	d0 := w0.refill(sl.debt, elapsed) + n*w0.cost
	wait := w0.wait(d0)
	if len(k.windows) == 1 {
		if wait > maxWait || d0 > maxDebt {
			return wait, false
		}
		sl.debt = d0
	} else if !k.takeMore(s, i, n, elapsed, d0, wait, maxWait, &wait) {
		return wait, false
	}
	// Two callers may read the clock in one order and take the lock in the
	// other; never move the clock back, or refill would be counted twice.
	sl.last = max(sl.last, now)
	sl.idleFrom = max(sl.idleFrom, now+int64(wait))
	return wait, true
}

// takeMore is take for a limiter with several windows: the units are taken
// from all of them or from none. It stores the longest wait in *waitOut.
func (k *Keyed) takeMore(s *keyedShard, i int32, n, elapsed, d0 int64, wait, maxWait time.Duration, waitOut *time.Duration) bool {
	extra := s.extraOf(k, i)
	var debts [maxWindows - 1]int64
	for j := range extra {
		w := &k.windows[j+1]
		if n > int64(w.burst) {
			*waitOut = 0
			return false
		}
		debts[j] = w.refill(extra[j], elapsed) + n*w.cost
		wait = max(wait, w.wait(debts[j]))
	}
	*waitOut = wait
	if wait > maxWait || d0 > maxDebt {
		return false
	}
	s.slots[i].debt = d0
	copy(extra, debts[:len(extra)])
	return true
}

// untake hands back n units taken from slot i (generation gen) by a Wait
// that will not use them, if the key still holds the slot and the units are
// not yet due. The caller holds s.mu.
func (k *Keyed) untake(s *keyedShard, i int32, gen uint32, n int64, now int64) {
	sl := &s.slots[i]
	if !sl.used || sl.gen != gen {
		return
	}
	elapsed := now - sl.last
	sl.debt = max(0, k.windows[0].refill(sl.debt, elapsed)-n*k.windows[0].cost)
	extra := s.extraOf(k, i)
	for j := range extra {
		w := &k.windows[j+1]
		extra[j] = max(0, w.refill(extra[j], elapsed)-n*w.cost)
	}
	sl.last = max(sl.last, now)
}

func (s *keyedShard) record(ok bool) {
	if ok {
		s.allowed++
	} else {
		s.limited++
	}
}

// Allow takes one unit from key's bucket if one is available now and reports
// whether it did. It never blocks, and does not allocate when key is already
// tracked.
func (k *Keyed) Allow(key string) bool { return k.allowAt(key, 1, k.now()) }

// AllowN is Allow for a call that costs n units (an expensive endpoint). It
// reports false, taking nothing, when n is below 1 or above a window's Burst
// (such a call could never be granted).
func (k *Keyed) AllowN(key string, n int) bool {
	if !k.validCost(n) {
		return false
	}
	return k.allowAt(key, int64(n), k.now())
}

func (k *Keyed) allowAt(key string, n int64, now int64) bool {
	s, h := k.shard(key)
	s.mu.Lock()
	_, ok := k.take(s, k.slot(s, key, h, now), n, now, 0)
	s.record(ok)
	s.mu.Unlock()
	return ok
}

// Take is Allow with the detail a response header needs. The error is always
// nil; it is there so that Keyed and the Redis limiter share one interface
// (Taker).
func (k *Keyed) Take(_ context.Context, key string) (Decision, error) {
	return k.takeAt(key, 1, k.now()), nil
}

// TakeN is Take for a call that costs n units. It returns an error wrapping
// ErrInvalidCost, taking nothing, when n is below 1 or above a window's
// Burst.
func (k *Keyed) TakeN(_ context.Context, key string, n int) (Decision, error) {
	if !k.validCost(n) {
		return Decision{}, k.costError(n)
	}
	return k.takeAt(key, int64(n), k.now()), nil
}

func (k *Keyed) validCost(n int) bool { return n >= 1 && n <= k.minBurst() }

func (k *Keyed) minBurst() int {
	b := k.windows[0].burst
	for i := range k.windows[1:] {
		b = min(b, k.windows[i+1].burst)
	}
	return b
}

func (k *Keyed) costError(n int) error {
	return fmt.Errorf("%w: limiter %q: cost %d is not between 1 and the smallest Burst, %d", ErrInvalidCost, k.name, n, k.minBurst())
}

func (k *Keyed) takeAt(key string, n int64, now int64) Decision {
	s, h := k.shard(key)
	s.mu.Lock()
	i := k.slot(s, key, h, now)
	_, ok := k.take(s, i, n, now, 0)
	s.record(ok)
	// What the buckets hold now: refilled up to now, after the take if any.
	sl := &s.slots[i]
	elapsed := now - sl.last
	w := &k.windows[0]
	d := w.decision(ok, w.refill(sl.debt, elapsed), n)
	if len(k.windows) > 1 {
		d = k.decideAll(d, s.extraOf(k, i), elapsed, ok, n)
	}
	s.mu.Unlock()
	return d
}

// decideAll combines every window's state into one Decision: the most
// restrictive window's Remaining and Reset, the longest RetryAfter, and each
// window in Policies, most restrictive first. first is the first window's.
func (k *Keyed) decideAll(first Decision, extra []int64, elapsed int64, ok bool, n int64) Decision {
	ps := make([]PolicyDecision, len(k.windows))
	ps[0] = PolicyDecision{Policy: k.windows[0].name, Remaining: first.Remaining, Reset: first.Reset, RetryAfter: first.RetryAfter}
	for j, debt := range extra {
		w := &k.windows[j+1]
		d := w.decision(ok, w.refill(debt, elapsed), n)
		ps[j+1] = PolicyDecision{Policy: w.name, Remaining: d.Remaining, Reset: d.Reset, RetryAfter: d.RetryAfter}
	}
	return CombinePolicies(ok, ps)
}

// Wait blocks until a unit of key's bucket is available and takes it. It
// returns ctx.Err() if ctx ends first, and a *LimitedError at once when ctx's
// deadline comes before the unit would.
func (k *Keyed) Wait(ctx context.Context, key string) error {
	start := time.Now()
	now := int64(start.Sub(k.epoch))
	s, h := k.shard(key)
	s.mu.Lock()
	i := k.slot(s, key, h, now)
	gen := s.slots[i].gen
	delay, ok := k.take(s, i, 1, now, time.Duration(math.MaxInt64))
	s.mu.Unlock()
	if !ok {
		// Only when a reservation queue is long enough to overflow the debt.
		k.countLocked(s, false)
		return &LimitedError{Limiter: k.name, RetryAfter: delay}
	}
	err := waitDelay(ctx, k.tel, delay, start, func(at time.Time) {
		s.mu.Lock()
		k.untake(s, i, gen, 1, int64(at.Sub(k.epoch)))
		s.mu.Unlock()
	})
	if err == nil || errors.Is(err, ErrLimited) {
		k.countLocked(s, err == nil)
	}
	return err
}

func (k *Keyed) countLocked(s *keyedShard, ok bool) {
	s.mu.Lock()
	s.record(ok)
	s.mu.Unlock()
}

// Len returns the number of keys currently tracked (at most MaxKeys).
func (k *Keyed) Len() int {
	n := 0
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.Lock()
		n += s.tracked()
		s.mu.Unlock()
	}
	return n
}

// Policy describes the per-key limit for clients: with several windows, the
// first (Policies lists them all).
func (k *Keyed) Policy() Quota {
	if len(k.windows) == 1 {
		return k.windows[0].policy(k.name)
	}
	return k.windows[0].policy(k.windows[0].name)
}

// Policies describes every window, in KeyedConfig.Windows order (one
// Quota, named after the limiter, when Windows is not used).
func (k *Keyed) Policies() []Quota {
	if len(k.windows) == 1 {
		return []Quota{k.Policy()}
	}
	out := make([]Quota, len(k.windows))
	for i := range k.windows {
		out[i] = k.windows[i].policy(k.windows[i].name)
	}
	return out
}

// Close unregisters the limiter's metric callback at once. The limiter
// still works after Close. Close is idempotent. A limiter dropped without
// Close is not kept alive by its metric callback: the callback is
// unregistered when the limiter is collected.
func (k *Keyed) Close() error {
	var err error
	k.once.Do(func() { err = k.tel.close() })
	return err
}
