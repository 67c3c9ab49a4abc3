package idempotency_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/keel-go/keel/idempotency"
)

// accountKey is the context key under which authentication puts the
// caller's account.
type accountKey struct{}

// authenticate stands for the service's authentication: it verifies the
// caller's credentials (here an API key, looked up by its SHA-256 digest)
// and puts the caller's account in the request's context; any other request
// is refused before it reaches the idempotency middleware.
func authenticate(accountsByKeyDigest map[[32]byte]string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		account, known := accountsByKeyDigest[sha256.Sum256([]byte(token))]
		if !bearer || !known {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), accountKey{}, account)))
	})
}

// A retried POST /orders creates one order; the retry gets the first
// response, marked as replayed. Keys are scoped to the account that
// authentication found, never to one the client names.
func ExampleMiddleware() {
	m, err := idempotency.New(idempotency.Config{Store: idempotency.NewMemoryStore()})
	if err != nil {
		panic(err)
	}
	mw, err := idempotency.NewMiddleware(idempotency.MiddlewareConfig{
		Manager:    m,
		RequireKey: true,
		Principal: func(r *http.Request) string {
			account, _ := r.Context().Value(accountKey{}).(string)
			return account
		},
	})
	if err != nil {
		panic(err)
	}
	orders := 0
	apiKeys := map[[32]byte]string{sha256.Sum256([]byte("acme-api-key-0123456789")): "acme"}
	mux := http.NewServeMux()
	mux.Handle("POST /orders", authenticate(apiKeys, mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		orders++
		w.Header().Set("Location", fmt.Sprintf("/orders/%d", orders))
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":%d}`, orders)
	}))))

	for range 2 {
		r := httptest.NewRequest("POST", "/orders", strings.NewReader(`{"sku":"keel-pro"}`))
		r.Header.Set("Authorization", "Bearer acme-api-key-0123456789")
		r.Header.Set("Idempotency-Key", `"8e03978e-40d5-43e8-bc93-6894a57f9324"`)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		body, _ := io.ReadAll(w.Body)
		fmt.Println(w.Code, w.Header().Get("Location"), string(body), "replayed:", w.Header().Get("Idempotent-Replayed") == "true")
	}
	fmt.Println("orders created:", orders)
	// Output:
	// 201 /orders/1 {"id":1} replayed: false
	// 201 /orders/1 {"id":1} replayed: true
	// orders created: 1
}

// The state machine without HTTP: a job runner that must send each invoice
// e-mail once, whatever its retries.
func ExampleManager() {
	m, err := idempotency.New(idempotency.Config{Store: idempotency.NewMemoryStore()})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	send := func(invoice string) {
		begun, err := m.Begin(ctx, "jobs:invoice-mail", invoice, nil)
		switch {
		case errors.Is(err, idempotency.ErrInProgress):
			fmt.Println(invoice, "is being sent by another worker")
			return
		case err != nil:
			fmt.Println("error:", err)
			return
		case begun.Replayed:
			fmt.Println(invoice, "already sent:", string(begun.Outcome.Body))
			return
		}
		fmt.Println("sending", invoice)
		if err := m.Complete(ctx, begun.Lease, idempotency.Outcome{Body: []byte("message-id 1")}); err != nil {
			fmt.Println("error:", err)
		}
	}
	send("INV-7")
	send("INV-7")
	// Output:
	// sending INV-7
	// INV-7 already sent: message-id 1
}

// The payment call inside POST /orders carries a key of its own, derived
// from the order's key, so a retried order never charges twice.
func ExampleDerivedKey() {
	k1 := idempotency.DerivedKey(`"acme" POST /orders`, "8e03978e", "payment")
	k2 := idempotency.DerivedKey(`"acme" POST /orders`, "8e03978e", "payment")
	fmt.Println(len(k1), k1 == k2)
	// Output: 43 true
}
