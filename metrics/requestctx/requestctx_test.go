package requestctx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/metrics/requestctx"
)

func serve(t *testing.T, incoming string) (echoed, seen, route string) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		seen = requestctx.ID(r.Context())
		route = requestctx.Route(r.Context())
	})
	req := httptest.NewRequest(http.MethodGet, "/orders/7", nil)
	if incoming != "" {
		req.Header.Set(requestctx.Header, incoming)
	}
	rec := httptest.NewRecorder()
	requestctx.Middleware(mux).ServeHTTP(rec, req)
	return rec.Header().Get(requestctx.Header), seen, route
}

func TestMiddlewareAcceptsWellFormedIDs(t *testing.T) {
	for _, id := range []string{"req-123", "0190f4d2-7c1e-7a3b-9f00-5c2b1a0e9d11", "01J9ZC7Q5X8N3W:a.b_c", strings.Repeat("a", 128)} {
		echoed, seen, route := serve(t, id)
		assert.Equal(t, id, echoed)
		assert.Equal(t, id, seen)
		assert.Equal(t, "/orders/{id}", route)
	}
}

func TestMiddlewareReplacesMalformedIDs(t *testing.T) {
	for _, id := range []string{"", "has space", `quote"`, "new\nline", "ünï", strings.Repeat("a", 129), "a=b"} {
		echoed, seen, _ := serve(t, id)
		assert.NotEqual(t, id, echoed, "%q", id)
		assert.Equal(t, echoed, seen)
		assert.Regexp(t, "^[0-9a-f]{32}$", echoed)
	}
}

func TestNewIDsDiffer(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := requestctx.NewID()
		require.False(t, seen[id])
		seen[id] = true
	}
}

func TestContextWithoutRequest(t *testing.T) {
	ctx := context.Background()
	assert.Equal(t, "", requestctx.ID(ctx))
	assert.Equal(t, "", requestctx.Route(ctx))
	ctx = requestctx.WithID(ctx, "job-9")
	assert.Equal(t, "job-9", requestctx.ID(ctx))
	assert.Equal(t, "", requestctx.Route(ctx))
	assert.Regexp(t, "^[0-9a-f]{32}$", requestctx.ID(requestctx.WithID(context.Background(), "bad id")))
}

func FuzzWellFormedID(f *testing.F) {
	for _, s := range []string{"req-1", "", "a b", "\x00", strings.Repeat("z", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if !requestctx.WellFormedID(id) {
			return
		}
		if len(id) > 128 || strings.ContainsAny(id, " \t\r\n\"'\\=") {
			t.Fatalf("accepted %q", id)
		}
		// What is accepted survives a header round trip unchanged.
		h := http.Header{}
		h.Set(requestctx.Header, id)
		if h.Get(requestctx.Header) != id {
			t.Fatalf("header changed %q", id)
		}
	})
}

func TestNestedMiddlewareKeepsTheIDAndTakesTheInnerRoute(t *testing.T) {
	inner := http.NewServeMux()
	var id, route string
	inner.HandleFunc("GET /v1/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, route = requestctx.ID(r.Context()), requestctx.Route(r.Context())
	})
	outer := http.NewServeMux()
	outer.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A middleware that replaces the request, as authentication does.
		requestctx.Middleware(inner).ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), authKey{}, 1)))
	}))
	rec := httptest.NewRecorder()
	requestctx.Middleware(outer).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/orders/9", nil))
	assert.Equal(t, rec.Header().Get(requestctx.Header), id)
	assert.Len(t, id, 32)
	assert.Equal(t, "/v1/orders/{id}", route)
}

type authKey struct{}
