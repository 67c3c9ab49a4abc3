package adaptive_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/ratelimit/adaptive"
)

// backend simulates a service whose latency grows with concurrency: up to
// capacity calls take base (±10 %, seeded), beyond it every call is slowed
// by the square of the overload, so throughput falls as concurrency rises
// past capacity (contention, not just queueing). A call's latency is fixed
// when it starts. It runs in a synctest bubble, in virtual time.
type backend struct {
	mu       sync.Mutex
	capacity int
	base     time.Duration
	inFlight int
	rng      *rand.Rand
}

func newBackend(capacity int, base time.Duration, seed uint64) *backend {
	return &backend{capacity: capacity, base: base, rng: rand.New(rand.NewPCG(seed, seed))}
}

func (b *backend) call(context.Context) error {
	b.mu.Lock()
	b.inFlight++
	slow := max(1, float64(b.inFlight)/float64(b.capacity))
	d := time.Duration(float64(b.base) * slow * slow * (0.9 + 0.2*b.rng.Float64()))
	b.mu.Unlock()
	time.Sleep(d)
	b.mu.Lock()
	b.inFlight--
	b.mu.Unlock()
	return nil
}

// run is the outcome of an open-loop load over [warmup, end).
type run struct {
	admitted, refused int
	latencies         []time.Duration
	measured          time.Duration
}

func (r *run) p(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// throughput is admitted calls completed per second of measured time.
func (r *run) throughput() float64 { return float64(len(r.latencies)) / r.measured.Seconds() }

// drive sends calls to l at rate per second (evenly spaced) for total,
// and counts those started after warmup. It must run in a bubble.
func drive(l *adaptive.Limiter, b *backend, rate float64, warmup, total time.Duration, prio func(i int) adaptive.Priority) *run {
	r := &run{measured: total - warmup}
	var mu sync.Mutex
	var wg sync.WaitGroup
	gap := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for i := 0; time.Since(start) < total; i++ {
		counted := time.Since(start) >= warmup
		ctx := adaptive.WithPriority(context.Background(), prio(i))
		wg.Go(func() {
			t0 := time.Now()
			err := l.Do(ctx, b.call)
			if !counted {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				r.refused++
				return
			}
			r.admitted++
			r.latencies = append(r.latencies, time.Since(t0))
		})
		time.Sleep(gap)
	}
	wg.Wait()
	return r
}

func normal(int) adaptive.Priority { return adaptive.Normal }

// TestLimitSettlesNearCapacityUnderOverload is the promise of the package:
// offered 1.5 times what the backend can serve, the limiter finds a limit
// near the backend's capacity, so admitted calls see about the unloaded
// latency and the backend still serves about its capacity.
func TestLimitSettlesNearCapacityUnderOverload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const capacity, base = 50, 10 * time.Millisecond
		l, err := adaptive.New(adaptive.Config{Name: "sim"})
		require.NoError(t, err)
		b := newBackend(capacity, base, 1)
		maxRate := float64(capacity) / base.Seconds()
		r := drive(l, b, 1.5*maxRate, 3*time.Second, 10*time.Second, normal)

		assert.InDelta(t, capacity, l.Limit(), 0.3*capacity, "limit")
		assert.Less(t, r.p(0.99), 2*base, "p99 of admitted calls")
		assert.Greater(t, r.throughput(), 0.85*maxRate, "throughput")
		assert.InDelta(t, base, l.NoLoadLatency(), float64(base)/5, "no-load latency")
		t.Logf("limit %d, p50 %s, p99 %s, throughput %.0f/s of %.0f, refused %.0f %%",
			l.Limit(), r.p(0.5), r.p(0.99), r.throughput(), maxRate, 100*float64(r.refused)/float64(r.admitted+r.refused))
	})
}

// TestLimitDoesNotGrowWithoutDemand: a lightly loaded limiter learns
// nothing about capacity, so its limit must stay near what is used rather
// than drift to MaxLimit (where the next burst would meet no limit).
func TestLimitDoesNotGrowWithoutDemand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const capacity, base = 50, 10 * time.Millisecond
		l, err := adaptive.New(adaptive.Config{})
		require.NoError(t, err)
		b := newBackend(capacity, base, 2)
		r := drive(l, b, 0.3*capacity/base.Seconds(), time.Second, 10*time.Second, normal)
		assert.Zero(t, r.refused)
		// About 15 calls are in flight: the limit may reach twice the peak
		// in flight, not more.
		assert.LessOrEqual(t, l.Limit(), 45)
	})
}

// TestLimitFallsWhenTheBackendLosesCapacity: a backend that loses half
// its capacity mid-run (a replica gone) gets a limit near the new capacity
// within seconds.
func TestLimitFallsWhenTheBackendLosesCapacity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const base = 10 * time.Millisecond
		l, err := adaptive.New(adaptive.Config{})
		require.NoError(t, err)
		b := newBackend(60, base, 3)
		rate := 1.5 * 60 / base.Seconds()
		drive(l, b, rate, 0, 5*time.Second, normal)
		require.InDelta(t, 60, l.Limit(), 18)
		b.mu.Lock()
		b.capacity = 30
		b.mu.Unlock()
		r := drive(l, b, rate, 2*time.Second, 5*time.Second, normal)
		assert.InDelta(t, 30, l.Limit(), 9)
		assert.Less(t, r.p(0.99), 2*base)
	})
}

// TestNoLoadLatencyFollowsASlowerBackend: when the backend becomes slower
// for good, the baseline follows within BaselineWindow, so the limiter
// does not take the new normal for overload forever.
func TestNoLoadLatencyFollowsASlowerBackend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := adaptive.New(adaptive.Config{BaselineWindow: 4 * time.Second})
		require.NoError(t, err)
		b := newBackend(50, 10*time.Millisecond, 4)
		drive(l, b, 1000, 0, 3*time.Second, normal)
		require.InDelta(t, 10*time.Millisecond, l.NoLoadLatency(), float64(2*time.Millisecond))
		b.mu.Lock()
		b.base = 40 * time.Millisecond
		b.mu.Unlock()
		drive(l, b, 250, 0, 6*time.Second, normal)
		assert.InDelta(t, 40*time.Millisecond, l.NoLoadLatency(), float64(8*time.Millisecond))
	})
}

// TestLowPriorityIsShedFirst: under overload, Low calls are refused far
// more often than Critical ones, and Critical calls still see the
// unloaded latency.
func TestLowPriorityIsShedFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const capacity, base = 50, 10 * time.Millisecond
		l, err := adaptive.New(adaptive.Config{})
		require.NoError(t, err)
		b := newBackend(capacity, base, 5)
		var mu sync.Mutex
		refused := map[adaptive.Priority]int{}
		offered := map[adaptive.Priority]int{}
		var wg sync.WaitGroup
		gap := time.Duration(float64(base) / (2 * capacity)) // twice capacity
		start := time.Now()
		for i := 0; time.Since(start) < 10*time.Second; i++ {
			// One call in five is Critical, the rest Low: Critical alone is
			// 40 % of capacity.
			prio := adaptive.Low
			if i%5 == 0 {
				prio = adaptive.Critical
			}
			counted := time.Since(start) > 3*time.Second
			wg.Go(func() {
				err := l.Do(adaptive.WithPriority(context.Background(), prio), b.call)
				if counted {
					mu.Lock()
					offered[prio]++
					if err != nil {
						refused[prio]++
					}
					mu.Unlock()
				}
			})
			time.Sleep(gap)
		}
		wg.Wait()
		lowShed := float64(refused[adaptive.Low]) / float64(offered[adaptive.Low])
		critShed := float64(refused[adaptive.Critical]) / float64(offered[adaptive.Critical])
		t.Logf("shed: low %.1f %%, critical %.1f %%", 100*lowShed, 100*critShed)
		assert.Greater(t, lowShed, 0.5)
		assert.Less(t, critShed, 0.05)
	})
}

// TestLimitStaysWithinMinAndMaxLimit: however the backend behaves, the
// limit stays in [MinLimit, MaxLimit], and no more calls than the limit
// are ever in flight.
func TestLimitStaysWithinMinAndMaxLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const base = 10 * time.Millisecond
		l, err := adaptive.New(adaptive.Config{MaxLimit: 20})
		require.NoError(t, err)
		b := &peakBackend{backend: newBackend(50, base, 6)}
		drive(l, b.backend, 7500, 0, 3*time.Second, func(int) adaptive.Priority { return adaptive.Critical })
		assert.Equal(t, 20, l.Limit(), "a backend with room for 50 pushes the limit to MaxLimit")
		r := driveFn(l, b.call, 7500, 3*time.Second)
		assert.LessOrEqual(t, b.peak, 20)
		assert.Positive(t, r)

		l, err = adaptive.New(adaptive.Config{MinLimit: 30, InitialLimit: 30})
		require.NoError(t, err)
		drive(l, newBackend(5, base, 7), 7500, 0, 3*time.Second, normal)
		assert.Equal(t, 30, l.Limit(), "a backend with room for 5 pulls the limit down to MinLimit")
	})
}

// peakBackend records the most calls it saw in flight.
type peakBackend struct {
	*backend
	peak int
}

func (p *peakBackend) call(ctx context.Context) error {
	p.mu.Lock()
	p.peak = max(p.peak, p.inFlight+1)
	p.mu.Unlock()
	return p.backend.call(ctx)
}

// driveFn sends Critical calls to fn through l at rate per second for
// total and returns how many were admitted.
func driveFn(l *adaptive.Limiter, fn func(context.Context) error, rate float64, total time.Duration) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	ctx := adaptive.WithPriority(context.Background(), adaptive.Critical)
	start := time.Now()
	for time.Since(start) < total {
		wg.Go(func() {
			if l.Do(ctx, fn) == nil {
				mu.Lock()
				admitted++
				mu.Unlock()
			}
		})
		time.Sleep(time.Duration(float64(time.Second) / rate))
	}
	wg.Wait()
	return admitted
}
