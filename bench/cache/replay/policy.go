package replay

import (
	"fmt"

	"github.com/Yiling-J/theine-go"
	"github.com/dgraph-io/ristretto/v2"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/keel-go/keel/cache"
	"github.com/maypok86/otter/v2"
)

// Policy is a cache under test, keyed by trace keys.
type Policy interface {
	Get(key uint64) bool
	Set(key uint64)
	// Len is the number of entries held, to check that the cache kept to
	// its capacity during the replay.
	Len() int
	Close()
}

// Contender names a cache library (and configuration) and builds it at a
// capacity.
type Contender struct {
	Name string
	New  func(capacity int) (Policy, error)
}

// Contenders are the caches the hit-ratio table compares, in column order.
var Contenders = []Contender{
	{"keel", func(n int) (Policy, error) { return newKeel(n, false) }},
	{"keel-tinylfu", func(n int) (Policy, error) { return newKeel(n, true) }},
	{"golang-lru", newGolangLRU},
	{"otter", newOtter},
	{"theine", newTheine},
	{"ristretto", newRistretto},
}

// Result is the outcome of one replay.
type Result struct {
	HitRatio float64
	// MaxLen is the most entries the cache held, sampled every
	// lenSampleEvery requests and at the end.
	MaxLen int
}

// lenSampleEvery is how often Replay samples the cache's size.
const lenSampleEvery = 1024

// Replay runs keys through p (Get; Set on a miss) and returns the hit
// ratio and the largest size seen.
func Replay(keys []uint64, p Policy) Result {
	if len(keys) == 0 {
		return Result{}
	}
	hits, maxLen := 0, 0
	for i, k := range keys {
		if p.Get(k) {
			hits++
		} else {
			p.Set(k)
		}
		if i%lenSampleEvery == 0 {
			maxLen = max(maxLen, p.Len())
		}
	}
	maxLen = max(maxLen, p.Len())
	return Result{HitRatio: float64(hits) / float64(len(keys)), MaxLen: maxLen}
}

type keelPolicy struct {
	c *cache.Cache[uint64, struct{}]
}

func newKeel(capacity int, admission bool) (Policy, error) {
	c, err := cache.New(cache.Config[uint64, struct{}]{Capacity: capacity, Admission: admission, CleanupInterval: -1})
	if err != nil {
		return nil, err
	}
	return keelPolicy{c}, nil
}

func (p keelPolicy) Get(k uint64) bool { _, ok := p.c.Get(k); return ok }
func (p keelPolicy) Set(k uint64)      { p.c.Set(k, struct{}{}) }
func (p keelPolicy) Len() int          { return p.c.Stats().Stored }
func (p keelPolicy) Close()            { _ = p.c.Close() }

type golangLRUPolicy struct{ c *lru.Cache[uint64, struct{}] }

func newGolangLRU(capacity int) (Policy, error) {
	c, err := lru.New[uint64, struct{}](capacity)
	if err != nil {
		return nil, fmt.Errorf("golang-lru: %w", err)
	}
	return golangLRUPolicy{c}, nil
}

func (p golangLRUPolicy) Get(k uint64) bool { _, ok := p.c.Get(k); return ok }
func (p golangLRUPolicy) Set(k uint64)      { p.c.Add(k, struct{}{}) }
func (p golangLRUPolicy) Len() int          { return p.c.Len() }
func (p golangLRUPolicy) Close()            {}

type otterPolicy struct {
	c *otter.Cache[uint64, struct{}]
}

func newOtter(capacity int) (Policy, error) {
	c, err := otter.New(&otter.Options[uint64, struct{}]{MaximumSize: capacity})
	if err != nil {
		return nil, fmt.Errorf("otter: %w", err)
	}
	return otterPolicy{c}, nil
}

func (p otterPolicy) Get(k uint64) bool { _, ok := p.c.GetIfPresent(k); return ok }
func (p otterPolicy) Len() int          { return p.c.EstimatedSize() }

// Set runs otter's pending maintenance (CleanUp): otter applies its size
// bound asynchronously, and a single-goroutine replay outruns it (on
// lirs-loop at 512 it held all 1011 keys), which would measure a larger
// cache than configured.
func (p otterPolicy) Set(k uint64) { p.c.Set(k, struct{}{}); p.c.CleanUp() }
func (p otterPolicy) Close()       {}

type theinePolicy struct {
	c *theine.Cache[uint64, struct{}]
}

func newTheine(capacity int) (Policy, error) {
	c, err := theine.NewBuilder[uint64, struct{}](int64(capacity)).Build()
	if err != nil {
		return nil, fmt.Errorf("theine: %w", err)
	}
	return theinePolicy{c}, nil
}

func (p theinePolicy) Get(k uint64) bool { _, ok := p.c.Get(k); return ok }

// Set waits for theine's write buffer (Wait), for the reason given at
// otterPolicy.Set: without it theine held up to 1.8 times its capacity in
// the replay.
func (p theinePolicy) Set(k uint64) { p.c.Set(k, struct{}{}, 1); p.c.Wait() }
func (p theinePolicy) Len() int     { return p.c.Len() }
func (p theinePolicy) Close()       { p.c.Close() }

type ristrettoPolicy struct {
	c *ristretto.Cache[uint64, struct{}]
}

func newRistretto(capacity int) (Policy, error) {
	c, err := ristretto.NewCache(&ristretto.Config[uint64, struct{}]{
		NumCounters: int64(capacity) * 10, // the documented 10x of the item count
		MaxCost:     int64(capacity),
		BufferItems: 64,
		// Every entry costs 1: without this ristretto adds its own per-entry
		// overhead to each cost and holds far fewer entries than MaxCost.
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("ristretto: %w", err)
	}
	return ristrettoPolicy{c}, nil
}

func (p ristrettoPolicy) Get(k uint64) bool { _, ok := p.c.Get(k); return ok }

// Set waits for ristretto's asynchronous write buffer so that the replay
// sees each insert before the next request, as the other caches do.
func (p ristrettoPolicy) Set(k uint64) { p.c.Set(k, struct{}{}, 1); p.c.Wait() }
func (p ristrettoPolicy) Close()       { p.c.Close() }
func (p ristrettoPolicy) Len() int     { return int(p.c.Metrics.KeysAdded() - p.c.Metrics.KeysEvicted()) }
