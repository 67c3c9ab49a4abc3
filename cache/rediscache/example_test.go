package rediscache_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/keel-go/keel/cache"
	"github.com/keel-go/keel/cache/rediscache"
	"github.com/redis/go-redis/v9"
)

type License struct {
	Key     string    `json:"key"`
	Expires time.Time `json:"expires"`
}

func loadLicenseFromDB(_ context.Context, key string) (License, error) {
	return License{Key: key, Expires: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
}

// Two instances of a service share licenses through Redis. A change made
// by one is seen by the other: its local copy is invalidated over pub/sub.
// (Needs a Redis at 127.0.0.1:6379, so it is compiled but not run.)
func Example_twoTier() {
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()

	newInstance := func() *rediscache.Cache[License] {
		c, err := rediscache.New(rediscache.Config[License]{
			Client: client,
			Prefix: "salesapi:licenses:",
			TTL:    time.Hour, // in Redis
			Local: cache.Config[string, License]{
				Capacity: 10_000,
				TTL:      time.Minute, // locally: the worst-case staleness if a message is lost
			},
		})
		if err != nil {
			log.Fatal(err)
		}
		return c
	}
	a, b := newInstance(), newInstance()
	defer a.Close()
	defer b.Close()

	lic, err := a.GetOrLoad(ctx, "LIC-1", loadLicenseFromDB) // database, then Redis
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("a:", lic.Expires.Year())
	lic, _ = b.GetOrLoad(ctx, "LIC-1", loadLicenseFromDB) // from Redis: no query
	fmt.Println("b:", lic.Expires.Year())

	lic.Expires = lic.Expires.AddDate(1, 0, 0) // renewed through instance a
	if err := a.Set(ctx, "LIC-1", lic); err != nil {
		log.Fatal(err)
	}
	// Pub/sub is asynchronous: wait (bounded) until b has applied the
	// invalidation, rather than for a guessed time.
	for deadline := time.Now().Add(2 * time.Second); b.Stats().InvalidationsReceived == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			log.Fatal("the invalidation did not reach b within 2s")
		}
	}
	lic, _ = b.Get(ctx, "LIC-1")
	fmt.Println("b after renewal:", lic.Expires.Year())
}
