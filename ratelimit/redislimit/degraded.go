package redislimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keel-go/keel/ratelimit"
)

// probeEvery is how often a degraded limiter asks Redis again.
const probeEvery = time.Second

// degraded is FailLocal's state: while Redis is down, calls are decided by
// an in-process limiter holding this instance's share of the limit.
type degraded struct {
	fixedN int           // Config.Instances; 0: learned
	every  time.Duration // heartbeat interval
	id     string        // this instance in the heartbeat set

	mu        sync.Mutex
	learnedN  int       // instances seen in the last heartbeat, 0 if none yet
	lastBeat  time.Time // last heartbeat written
	since     time.Time // zero while Redis answers
	lastProbe time.Time // last time Redis was asked while degraded
	total     time.Duration
	keyed     *ratelimit.Keyed
	keyedN    int
}

func newDegraded(cfg Config) (*degraded, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	every := cfg.HeartbeatEvery
	if every <= 0 {
		every = time.Second
	}
	return &degraded{fixedN: cfg.Instances, every: every, id: hex.EncodeToString(b[:])}, nil
}

// instances is N: configured, learned, or 1.
func (d *degraded) instances() int {
	if d.fixedN > 0 {
		return d.fixedN
	}
	return max(d.learnedN, 1)
}

// skipRedis reports whether a degraded limiter should decide locally
// without asking Redis (it asked less than probeEvery ago).
func (d *degraded) skipRedis(now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.since.IsZero() || now.Sub(d.lastProbe) >= probeEvery {
		d.lastProbe = now
		return false
	}
	return true
}

// answered records that Redis decided a call: a degraded limiter returns to
// the shared limit. It writes a heartbeat when one is due.
func (d *degraded) answered(ctx context.Context, l *Limiter, now time.Time) {
	d.mu.Lock()
	if !d.since.IsZero() {
		d.total += now.Sub(d.since)
		d.since = time.Time{}
	}
	beat := d.fixedN == 0 && now.Sub(d.lastBeat) >= d.every
	if beat {
		d.lastBeat = now
	}
	d.mu.Unlock()
	if beat {
		d.heartbeat(ctx, l, now)
	}
}

// heartbeat records this instance in a sorted set scored by time and counts
// the instances heard from in the last three intervals, in one round trip.
func (d *degraded) heartbeat(ctx context.Context, l *Limiter, now time.Time) {
	key := l.prefix[:len(l.prefix)-1] + "#instances"
	ms := now.UnixMilli()
	var card *redis.IntCmd
	_, err := l.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, key, redis.Z{Score: float64(ms), Member: d.id})
		p.ZRemRangeByScore(ctx, key, "-inf", strconv.FormatInt(ms-3*d.every.Milliseconds(), 10))
		card = p.ZCard(ctx, key)
		p.PExpire(ctx, key, 3*d.every)
		return nil
	})
	if err != nil {
		return // the next decision will find out whether Redis is down
	}
	d.mu.Lock()
	d.learnedN = int(card.Val())
	d.mu.Unlock()
}

// take decides a call locally: this instance's share of every window.
func (d *degraded) take(ctx context.Context, l *Limiter, key string, n int) (ratelimit.Decision, error) {
	now := time.Now()
	d.mu.Lock()
	if d.since.IsZero() {
		d.since = now
		d.lastProbe = now
	}
	k, err := d.local(l)
	share := d.keyedN
	d.mu.Unlock()
	if err != nil {
		return ratelimit.Decision{}, err
	}
	// A cost the whole limit grants may exceed this instance's share of
	// the burst; it takes the whole share then.
	localBurst := l.minBurst()
	for _, w := range l.windows {
		localBurst = min(localBurst, max(1, w.burst/share))
	}
	dec, err := k.TakeN(ctx, key, min(n, localBurst))
	if err != nil {
		return dec, err
	}
	l.count(dec.Allowed)
	return dec, nil
}

// local returns the in-process limiter for the current N, building it
// anew when N changed. The caller holds d.mu.
func (d *degraded) local(l *Limiter) (*ratelimit.Keyed, error) {
	n := d.instances()
	if d.keyed != nil && d.keyedN == n {
		return d.keyed, nil
	}
	cfg := ratelimit.KeyedConfig{Name: l.name + "-local"}
	for _, w := range l.windows {
		cfg.Windows = append(cfg.Windows, ratelimit.Window{
			Name: w.name, Limit: max(1, w.limit/n), Period: w.period, Burst: max(1, w.burst/n),
		})
	}
	if len(cfg.Windows) == 1 {
		w := cfg.Windows[0]
		cfg.Windows, cfg.Limit, cfg.Period, cfg.Burst = nil, w.Limit, w.Period, w.Burst
	}
	k, err := ratelimit.NewKeyed(cfg)
	if err != nil {
		return nil, err
	}
	if d.keyed != nil {
		_ = d.keyed.Close()
	}
	d.keyed, d.keyedN = k, n
	return k, nil
}

// degradedFor returns the time spent degraded so far.
func (d *degraded) degradedFor(now time.Time) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.total
	if !d.since.IsZero() {
		t += now.Sub(d.since)
	}
	return t
}

func (d *degraded) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.keyed != nil {
		_ = d.keyed.Close()
	}
}
