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
	// Keys are scoped to the account authentication found (never to one a
	// header names): requireAccount runs first and puts it in the context.
	mw, err := idempotency.NewMiddleware(idempotency.MiddlewareConfig{Manager: m, RequireKey: true,
		Principal: func(r *http.Request) string { return accountOf(r.Context()) }})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /orders", requireAccount(mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	}))))
	_ = mux // http.ListenAndServe(":8080", mux)
}

type accountCtxKey struct{}

func accountOf(ctx context.Context) string {
	id, _ := ctx.Value(accountCtxKey{}).(string)
	return id
}

// requireAccount stands for the service's authentication middleware: it
// verifies the request's session (here a cookie whose value a real service
// would look up in its session store) and refuses requests without one.
func requireAccount(next http.Handler) http.Handler {
	sessions := map[string]string{} // session id → account id, filled at login
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("session")
		if err != nil || sessions[c.Value] == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), accountCtxKey{}, sessions[c.Value])))
	})
}
