package httpcache_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/keel-go/keel/cache/httpcache"
)

func Example() {
	hc, err := httpcache.New(httpcache.Config{
		// Who the caller is; responses not marked public are kept per caller.
		Principal: func(r *http.Request) string { return r.Header.Get("X-User") },
	})
	if err != nil {
		panic(err)
	}
	defer hc.Close()

	calls := 0
	report := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Cache-Control", "max-age=30")
		w.Header().Set("Surrogate-Key", "sales-report")
		fmt.Fprintf(w, "report for %s", r.Header.Get("X-User"))
	})
	h := hc.Wrap(report)

	get := func(user string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/v1/reports/sales", nil)
		r.Header.Set("X-User", user)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	fmt.Println(get("ann").Header().Get("Cache-Status"))
	hit, _, _ := strings.Cut(get("ann").Header().Get("Cache-Status"), "; ttl=")
	fmt.Println(hit)
	fmt.Println(get("bob").Body.String()) // never ann's
	hc.InvalidateTags("sales-report")     // after an order is written
	get("ann")
	fmt.Println("handler calls:", calls)
	// Output:
	// keel; fwd=uri-miss; stored
	// keel; hit
	// report for bob
	// handler calls: 3
}

func ExampleMiddleware_InvalidatePrefix() {
	hc, err := httpcache.New(httpcache.Config{})
	if err != nil {
		panic(err)
	}
	defer hc.Close()
	h := hc.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		fmt.Fprint(w, "order ", r.PathValue("id"))
	}))
	status := func(path string) string {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		return w.Header().Get("Cache-Status")
	}
	status("/v1/orders/7")
	hc.InvalidatePrefix("/v1/orders") // covers /v1/orders/7, not /v1/ordersX
	fmt.Println(status("/v1/orders/7"))
	// Output:
	// keel; fwd=vary-miss; stored
}
