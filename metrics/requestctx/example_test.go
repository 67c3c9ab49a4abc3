package requestctx_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/keel-go/keel/metrics/requestctx"
)

// Example: the handler reads the request id and route the middleware put in
// its context; the response echoes the id.
func Example() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("handler:", requestctx.ID(r.Context()), requestctx.Route(r.Context()))
	})
	req := httptest.NewRequest(http.MethodGet, "/orders/7", nil)
	req.Header.Set("X-Request-ID", "req-42")
	rec := httptest.NewRecorder()
	requestctx.Middleware(mux).ServeHTTP(rec, req)
	fmt.Println("response:", rec.Header().Get("X-Request-ID"))
	// Output:
	// handler: req-42 /orders/{id}
	// response: req-42
}
