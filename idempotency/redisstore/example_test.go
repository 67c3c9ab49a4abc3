package redisstore_test

import (
	"context"
	"log"
	"net/http"

	"github.com/redis/go-redis/v9"

	"github.com/keel-go/keel/idempotency"
	"github.com/keel-go/keel/idempotency/redisstore"
)

// Idempotent POST /orders across instances that share a Redis.
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	store, err := redisstore.New(redisstore.Config{Client: rdb})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.CheckConfig(context.Background()); err != nil {
		log.Fatal(err) // a Redis that may evict records cannot keep the promise
	}
	m, err := idempotency.New(idempotency.Config{Store: store})
	if err != nil {
		log.Fatal(err)
	}
	mw, err := idempotency.NewMiddleware(idempotency.MiddlewareConfig{Manager: m, RequireKey: true,
		Principal: func(r *http.Request) string { return r.Header.Get("X-Account") }})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /orders", mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})))
	_ = mux // http.ListenAndServe(":8080", mux)
}
