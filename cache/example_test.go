package cache_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/keel-go/keel/cache"
)

type Customer struct {
	ID   int64
	Name string
}

// customersTable stands in for a database table read with database/sql.
type customersTable struct {
	rows    map[int64]string
	queries int
}

func (t *customersTable) QueryCustomer(_ context.Context, id int64) (Customer, error) {
	t.queries++
	name, ok := t.rows[id]
	if !ok {
		return Customer{}, fmt.Errorf("select customer %d: %w", id, sql.ErrNoRows)
	}
	return Customer{ID: id, Name: name}, nil
}

// Cache-aside in front of a database read: the first request for a
// customer queries the database, the next ones are served from memory, and
// a missing customer is cached as "not found" so that it does not reach
// the database again either.
func Example_cacheAside() {
	db := &customersTable{rows: map[int64]string{1: "Ada Lovelace", 2: "Grace Hopper"}}
	customers, err := cache.New(cache.Config[int64, Customer]{
		Capacity:    50_000,
		TTL:         5 * time.Minute,
		TTLJitter:   0.1,           // keys loaded together do not all expire together
		NotFound:    sql.ErrNoRows, // cache "no such customer" too ...
		NegativeTTL: 30 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer customers.Close()

	ctx := context.Background()
	for _, id := range []int64{1, 1, 2, 1, 404, 404} {
		c, err := customers.GetOrLoad(ctx, id, db.QueryCustomer)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			fmt.Println(id, "not found")
		case err != nil:
			log.Fatal(err)
		default:
			fmt.Println(id, c.Name)
		}
	}
	st := customers.Stats()
	fmt.Printf("database queries: %d, hits: %d, misses: %d\n", db.queries, st.Hits, st.Misses)
	// Output:
	// 1 Ada Lovelace
	// 1 Ada Lovelace
	// 2 Grace Hopper
	// 1 Ada Lovelace
	// 404 not found
	// 404 not found
	// database queries: 3, hits: 3, misses: 3
}

// A cache with the TinyLFU admission filter keeps its frequently used
// entries when a scan of one-time keys passes through it.
func ExampleConfig_admission() {
	prices, err := cache.New(cache.Config[string, int]{Capacity: 100, Admission: true})
	if err != nil {
		log.Fatal(err)
	}
	defer prices.Close()

	for range 5 {
		for _, sku := range []string{"apple", "pear", "plum"} {
			if _, ok := prices.Get(sku); !ok {
				prices.Set(sku, 100)
			}
		}
	}
	for i := range 10_000 { // a report walks every SKU once
		prices.Set(fmt.Sprint("sku-", i), 1)
	}
	_, ok := prices.Get("apple")
	fmt.Println("apple still cached:", ok, "- entries:", prices.Len())
	// Output: apple still cached: true - entries: 100
}

// OnEvict learns why every entry left; it runs outside the cache's locks.
func ExampleConfig_onEvict() {
	sessions, err := cache.New(cache.Config[string, string]{
		Capacity: 2,
		OnEvict: func(key, _ string, reason cache.EvictionReason) {
			fmt.Println(key, reason)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer sessions.Close()
	sessions.Set("a", "1")
	sessions.Set("b", "2")
	sessions.Set("c", "3") // evicts a, the least recently used
	sessions.Delete("b")
	// Output:
	// a evicted
	// b deleted
}

// A cache bounded by the bytes it holds rather than by its number of
// entries: each entry weighs the length of its value. An entry heavier than
// a shard's share of the capacity is refused instead of evicting
// everything else.
func ExampleConfig_weigher() {
	pages, err := cache.New(cache.Config[string, []byte]{
		Capacity: 1 << 20, // 1 MiB of page bodies
		Shards:   1,
		Weigher:  func(_ string, body []byte) uint32 { return uint32(len(body)) },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer pages.Close()

	fmt.Println(pages.Set("/home", make([]byte, 300<<10)))
	err = pages.Set("/huge", make([]byte, 2<<20))
	fmt.Println(errors.Is(err, cache.ErrTooHeavy))
	_, ok := pages.Get("/home")
	fmt.Println(ok, pages.Stats().Weight)
	// Output:
	// <nil>
	// true
	// true 307200
}

// Each entry's lifetime computed from the entry itself: a token lives
// until its own expiry time, and an update keeps the expiry the entry
// already had.
func ExampleConfig_expireAfter() {
	type token struct {
		user    string
		expires time.Time
	}
	tokens, err := cache.New(cache.Config[string, token]{
		Capacity: 10_000,
		ExpireAfter: func(_ string, t token, w cache.Write) time.Duration {
			if w.Update {
				return w.Remaining
			}
			return time.Until(t.expires)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer tokens.Close()

	_ = tokens.Set("t1", token{user: "ada", expires: time.Now().Add(time.Hour)})
	_ = tokens.Set("t2", token{user: "bob", expires: time.Now().Add(-time.Second)}) // already expired
	_, ok1 := tokens.Get("t1")
	_, ok2 := tokens.Get("t2")
	fmt.Println(ok1, ok2)
	// Output: true false
}

// Memoize turns a slow function into a cached one; concurrent calls for a
// key that is not cached yet run it once.
func ExampleMemoize() {
	rates, err := cache.New(cache.Config[string, float64]{Capacity: 100, TTL: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer rates.Close()

	queries := 0
	rate := cache.Memoize(rates, func(_ context.Context, currency string) (float64, error) {
		queries++ // a call to the rates API
		return map[string]float64{"EUR": 1.08, "GBP": 1.27}[currency], nil
	})
	for range 3 {
		r, _ := rate(context.Background(), "EUR")
		fmt.Println(r)
	}
	fmt.Println("queries:", queries)
	// Output:
	// 1.08
	// 1.08
	// 1.08
	// queries: 1
}
