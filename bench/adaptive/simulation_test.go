package adaptive

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/failsafe-go/failsafe-go/adaptivelimiter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/ratelimit"
	"github.com/keel-go/keel/ratelimit/adaptive"
)

var (
	simRounds   = flag.Int("sim.rounds", 1, "rounds of the shedding simulation; each contender runs once per round, in turn")
	simDuration = flag.Duration("sim.duration", 20*time.Second, "virtual time each contender is driven for in each round")
	simWarmup   = flag.Duration("sim.warmup", 10*time.Second, "virtual time at the start of each run left out of the figures (the adaptive limiters are still learning)")
)

// The simulated backend: capacity calls at once take base; beyond that
// every call is slowed by the square of the overload.
const (
	capacity = 50
	base     = 10 * time.Millisecond
	overload = 1.5 // offered load, as a multiple of what the backend can serve
)

// backend simulates a service whose latency grows with concurrency: up to
// capacity calls take base (±10 %, from a seeded generator), beyond it
// every call is slowed by (inFlight/capacity)², so throughput falls as
// concurrency rises past capacity (contention such as lock convoys or GC,
// not only queueing: with pure queueing a fixed limit set too high would
// cost latency but no throughput). A call's latency is fixed when it
// starts, from the number in flight then.
type backend struct {
	mu       sync.Mutex
	inFlight int
	rng      *rand.Rand
}

func (b *backend) call() {
	b.mu.Lock()
	b.inFlight++
	slow := max(1, float64(b.inFlight)/capacity)
	d := time.Duration(float64(base) * slow * slow * (0.9 + 0.2*b.rng.Float64()))
	b.mu.Unlock()
	time.Sleep(d)
	b.mu.Lock()
	b.inFlight--
	b.mu.Unlock()
}

// admitter is what every contender offers the simulation: admit a call
// or refuse it at once (none of them queues).
type admitter interface {
	try() (release func(), ok bool)
	limit() int
}

type fixedBulkhead struct{ b *ratelimit.Bulkhead }

func (f fixedBulkhead) try() (func(), bool) {
	if f.b.Acquire(context.Background()) != nil {
		return nil, false
	}
	return f.b.Release, true
}
func (f fixedBulkhead) limit() int { return -1 }

type keelAdaptive struct{ l *adaptive.Limiter }

func (k keelAdaptive) try() (func(), bool) {
	p, err := k.l.Acquire(context.Background())
	if err != nil {
		return nil, false
	}
	return p.Release, true
}
func (k keelAdaptive) limit() int { return k.l.Limit() }

type failsafeAdaptive struct {
	l adaptivelimiter.AdaptiveLimiter[any]
}

func (f failsafeAdaptive) try() (func(), bool) {
	p, ok := f.l.TryAcquirePermit()
	if !ok {
		return nil, false
	}
	return p.Record, true
}
func (f failsafeAdaptive) limit() int { return f.l.Limit() }

type contender struct {
	name  string
	build func(t *testing.T) admitter
}

var contenders = []contender{
	{"fixed-200 (too high)", func(t *testing.T) admitter { return newBulkhead(t, 4*capacity) }},
	{"fixed-25 (too low)", func(t *testing.T) admitter { return newBulkhead(t, capacity/2) }},
	{"keel adaptive", func(t *testing.T) admitter {
		l, err := adaptive.New(adaptive.Config{Name: "sim"})
		require.NoError(t, err)
		return keelAdaptive{l}
	}},
	{"failsafe-go adaptivelimiter", func(*testing.T) admitter {
		return failsafeAdaptive{adaptivelimiter.NewWithDefaults[any]()}
	}},
	{"failsafe-go, 100 ms window", func(*testing.T) admitter {
		// Keel's window (100 ms, 10 samples) instead of failsafe-go's
		// default (1 s to 30 s, 50 samples), to tell the algorithm from
		// the speed at which it is fed.
		return failsafeAdaptive{adaptivelimiter.NewBuilder[any]().
			WithRecentWindow(100*time.Millisecond, 30*time.Second, 10).Build()}
	}},
}

func newBulkhead(t *testing.T, n int) admitter {
	b, err := ratelimit.NewBulkhead(ratelimit.BulkheadConfig{Name: "sim", MaxInFlight: n})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return fixedBulkhead{b}
}

// outcome is one contender's run, over the measured span.
type outcome struct {
	p50, p99       time.Duration
	goodput        float64 // completed admitted calls per second, as a share of the backend's capacity
	shed           float64 // refused / offered
	limit          int     // the limit at the end, -1 for a fixed bulkhead
	refused, total int
}

// simulate drives a with open-loop Poisson arrivals at overload × the
// backend's capacity for the duration, in virtual time (it must run in a
// synctest bubble), and measures the calls that arrive after the warmup.
func simulate(a admitter, seed uint64, duration, warmup time.Duration) outcome {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := &backend{rng: rand.New(rand.NewPCG(seed, 2))}
	rate := overload * capacity / base.Seconds()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		refused   int
		offered   int
		wg        sync.WaitGroup
	)
	start := time.Now()
	for time.Since(start) < duration {
		counted := time.Since(start) >= warmup
		if counted {
			offered++
		}
		release, ok := a.try()
		if !ok {
			if counted {
				refused++
			}
		} else {
			wg.Go(func() {
				t0 := time.Now()
				b.call()
				release()
				if counted {
					mu.Lock()
					latencies = append(latencies, time.Since(t0))
					mu.Unlock()
				}
			})
		}
		time.Sleep(time.Duration(rng.ExpFloat64() / rate * float64(time.Second)))
	}
	wg.Wait()
	slices.Sort(latencies)
	q := func(p float64) time.Duration { return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))] }
	measured := (duration - warmup).Seconds()
	return outcome{
		p50:     q(0.50),
		p99:     q(0.99),
		goodput: float64(len(latencies)) / measured / (capacity / base.Seconds()),
		shed:    float64(refused) / float64(offered),
		limit:   a.limit(),
		refused: refused, total: offered,
	}
}

// TestShedSimulation runs every contender against the simulated backend,
// round after round (one binary, contenders in turn, a new seed each
// round), and prints the median of each figure over the rounds. Everything
// it measures is in virtual time (testing/synctest): latencies and rates
// are those of the model, exact and the same on any machine, and say
// nothing about the limiters' own CPU cost (BenchmarkAcquireRelease does).
//
//	cd bench && go test -run TestShedSimulation -v ./adaptive/ -args -sim.rounds=5 -sim.duration=60s -sim.warmup=30s
func TestShedSimulation(t *testing.T) {
	results := map[string][]outcome{}
	for round := range *simRounds {
		for _, c := range contenders {
			synctest.Test(t, func(t *testing.T) {
				results[c.name] = append(results[c.name], simulate(c.build(t), uint64(round+1), *simDuration, *simWarmup))
			})
		}
	}
	median := func(name string, f func(outcome) float64) float64 {
		v := make([]float64, 0, len(results[name]))
		for _, o := range results[name] {
			v = append(v, f(o))
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	var table strings.Builder
	fmt.Fprintf(&table, "backend: capacity %d calls at %s each (%d/s), offered %.1fx = %.0f/s open loop (Poisson); %d round(s) of %s virtual, first %s left out; medians over rounds\n",
		capacity, base, int(capacity/base.Seconds()), overload, overload*capacity/base.Seconds(), *simRounds, *simDuration, *simWarmup)
	fmt.Fprintf(&table, "| contender | p50 | p99 | p99 / unloaded | goodput (share of capacity) | shed | limit at end |\n|---|---|---|---|---|---|---|\n")
	for _, c := range contenders {
		p50 := time.Duration(median(c.name, func(o outcome) float64 { return float64(o.p50) }))
		p99 := time.Duration(median(c.name, func(o outcome) float64 { return float64(o.p99) }))
		limit := "fixed"
		if l := median(c.name, func(o outcome) float64 { return float64(o.limit) }); l >= 0 {
			limit = fmt.Sprint(int(l))
		}
		fmt.Fprintf(&table, "| %s | %.1f ms | %.1f ms | %.2fx | %.1f %% | %.1f %% | %s |\n", c.name,
			float64(p50)/1e6, float64(p99)/1e6, float64(p99)/float64(base),
			100*median(c.name, func(o outcome) float64 { return o.goodput }),
			100*median(c.name, func(o outcome) float64 { return o.shed }), limit)
	}
	fmt.Fprint(os.Stdout, table.String())

	// The model must make the point, and Keel's limiter must meet it.
	high, low, keel := results[contenders[0].name][0], results[contenders[1].name][0], results[contenders[2].name][0]
	assert.Greater(t, high.p99, 4*base, "a bulkhead set too high must cost latency in this model")
	assert.Less(t, high.goodput, 0.5, "and throughput")
	assert.Less(t, low.goodput, 0.6, "a bulkhead set too low must cost throughput")
	assert.Less(t, keel.p99, 2*base, "Keel's adaptive limiter: p99 near the unloaded latency")
	assert.Greater(t, keel.goodput, 0.85, "Keel's adaptive limiter: throughput near capacity")
}
