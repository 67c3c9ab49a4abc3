// Command loadgen drives a mixed workload (70 % cached customer reads, 20 %
// idempotent order creation, 10 % sales reports) against a running sales API
// and prints throughput, p50/p99 latency, errors and retries per route, then
// the server's own cache hit ratio and breaker trips read from its /metrics.
//
//	SALESAPI_KEY=<admin key> go run ./examples/salesapi/loadgen -url http://127.0.0.1:8080 -duration 30s
//
// The API key is read from SALESAPI_KEY, never from the command line, so it
// does not show in the process list.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/keel-go/keel/examples/salesapi/load"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "base URL of the sales API")
	duration := flag.Duration("duration", 10*time.Second, "how long to drive the load")
	concurrency := flag.Int("concurrency", 16, "client goroutines")
	customers := flag.Int("customers", 50, "customers created before the run")
	flag.Parse()
	key := os.Getenv("SALESAPI_KEY")
	if key == "" {
		fmt.Fprintln(os.Stderr, "loadgen: set SALESAPI_KEY to an API key (admin or sales)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := load.Run(ctx, load.Config{BaseURL: *url, APIKey: key, Duration: *duration, Concurrency: *concurrency, Customers: *customers})
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	fmt.Print(res.Report())
	srv, err := load.ScrapeServerStats(ctx, *url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen: reading the server's /metrics:", err)
		os.Exit(1)
	}
	fmt.Print(srv.Report())
}
