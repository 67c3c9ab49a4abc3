package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/keel-go/keel/idempotency"
	"github.com/keel-go/keel/idempotency/sqlstore"
)

// A POST /orders handler that completes the idempotency record in the same
// transaction as the order row: both commit together or not at all.
func ExampleStore_CompleteTx() {
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", sqliteDSN(filepath.Join(dir, "shop.db")))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	store, err := sqlstore.New(sqlstore.Config{DB: db, Dialect: sqlstore.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE orders (id INTEGER PRIMARY KEY, sku TEXT NOT NULL)`); err != nil {
		log.Fatal(err)
	}
	m, err := idempotency.New(idempotency.Config{Store: store})
	if err != nil {
		log.Fatal(err)
	}
	// Keys are scoped to the caller that authentication verified (never to
	// one a header names): withUser runs first and puts it in the context.
	mw, err := idempotency.NewMiddleware(idempotency.MiddlewareConfig{Manager: m, RequireKey: true,
		Principal: func(r *http.Request) string { u, _ := r.Context().Value(userKey{}).(string); return u }})
	if err != nil {
		log.Fatal(err)
	}

	createOrder := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lease, _ := idempotency.LeaseFromContext(r.Context())
		tx, err := db.BeginTx(r.Context(), nil)
		if err != nil {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		defer tx.Rollback()
		res, err := tx.Exec(`INSERT INTO orders (sku) VALUES (?)`, "keel-pro")
		if err != nil {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		id, _ := res.LastInsertId()
		body := fmt.Sprintf(`{"id":%d}`, id)
		out := idempotency.Outcome{Status: http.StatusCreated, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
		if err := store.CompleteTx(r.Context(), tx, lease, out); err != nil {
			http.Error(w, "lease lost", http.StatusServiceUnavailable) // rolled back by the defer
			return
		}
		if err := tx.Commit(); err != nil {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		idempotency.MarkCompleted(r.Context())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, body)
	})
	h := withUser(mw.Wrap(createOrder))

	for range 2 {
		r := httptest.NewRequest("POST", "/orders", strings.NewReader(`{"sku":"keel-pro"}`))
		r.SetBasicAuth("shop", "correct horse battery staple")
		r.Header.Set("Idempotency-Key", `"retry-me"`)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String(), "replayed:", w.Header().Get("Idempotent-Replayed") == "true")
	}
	var orders int
	_ = db.QueryRow(`SELECT COUNT(*) FROM orders`).Scan(&orders)
	fmt.Println("orders:", orders)
	// Output:
	// 201 {"id":1} replayed: false
	// 201 {"id":1} replayed: true
	// orders: 1
}

type userKey struct{}

// withUser stands for the service's authentication: HTTP basic auth against
// one user whose password digest it holds (a real service would use its
// password.Hasher); the verified user name goes into the context.
func withUser(next http.Handler) http.Handler {
	want := sha256.Sum256([]byte("correct horse battery staple"))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		got := sha256.Sum256([]byte(pass))
		if !ok || user != "shop" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="shop"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
	})
}
