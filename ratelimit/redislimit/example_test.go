package redislimit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keel-go/keel/ratelimit/redislimit"
)

// Several instances of a service, each with its own limiter on the same
// Redis, share one budget per key.
func Example() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ReadTimeout: 50 * time.Millisecond})
	defer client.Close()

	limiter, err := redislimit.New(redislimit.Config{
		Client: client, Name: "api", Limit: 100, Period: time.Minute, Burst: 20,
		FailMode: redislimit.FailOpen, // an outage of Redis is not an outage of the API
	})
	if err != nil {
		panic(err)
	}
	defer limiter.Close()

	d, err := limiter.Take(context.Background(), "customer-42")
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Allowed, d.Remaining)
}
