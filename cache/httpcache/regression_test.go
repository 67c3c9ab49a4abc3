package httpcache

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Guards: an unsafe request whose handler succeeds without writing anything
// (net/http's implicit 200) invalidates its URI like one that writes a 200;
// before the fix, the next GET was a hit on the copy the DELETE made stale.
func TestUnsafeRequestWithImplicit200Invalidates(t *testing.T) {
	version := "v1"
	f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			version = "deleted"
			return // implicit 200
		}
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write([]byte(version))
	})
	f.do(http.MethodGet, "/items/1")
	f.do(http.MethodDelete, "/items/1")
	w := f.do(http.MethodGet, "/items/1")
	assert.Equal(t, "deleted", w.Body.String(), "Cache-Status %q", w.Header().Get("Cache-Status"))
}

// Guards: a Set-Cookie under a non-canonical key (a handler writing the map
// directly; net/http sends it as it is) keeps the response out of the
// cache, so one caller's session cookie never reaches another.
func TestNonCanonicalSetCookieIsNotStored(t *testing.T) {
	for _, key := range []string{"set-cookie", "SET-COOKIE", "Set-cookie"} {
		t.Run(key, func(t *testing.T) {
			n := 0
			f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
				n++
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header()[key] = []string{"session=user" + string(rune('0'+n))}
				_, _ = w.Write([]byte("x"))
			})
			first := f.do(http.MethodGet, "/p")
			second := f.do(http.MethodGet, "/p")
			assert.EqualValues(t, 2, f.o.calls.Load(), "Cache-Status %q", second.Header().Get("Cache-Status"))
			assert.Equal(t, "session=user1", first.Header().Get("Set-Cookie"), "the caller's own cookie still reaches it")
			assert.Equal(t, "session=user2", second.Header().Get("Set-Cookie"))
		})
	}
}

// Guards: Cache-Control under a non-canonical key is read (a lowercase
// "private" or "no-store" keeps the response out of the shared cache).
func TestNonCanonicalCacheControlIsRead(t *testing.T) {
	for _, cc := range []string{"private, max-age=60", "no-store"} {
		t.Run(cc, func(t *testing.T) {
			f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
				w.Header()["cache-control"] = []string{cc}
				w.Header()["expires"] = []string{time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}
				_, _ = w.Write([]byte("x"))
			})
			f.do(http.MethodGet, "/p")
			f.do(http.MethodGet, "/p")
			assert.EqualValues(t, 2, f.o.calls.Load())
		})
	}
}

// Guards: a method neither RFC 9110 nor Config.UnsafeMethods names
// invalidates nothing; before the fix "BREW /" emptied the whole cache
// (its path was invalidated as a prefix, and "/" is every path's).
func TestUnknownMethodInvalidatesNothing(t *testing.T) {
	f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" { // e.g. a landing page that ignores the method
			_, _ = w.Write([]byte("home"))
			return
		}
		w.Header().Set("Cache-Control", "max-age=600")
		_, _ = w.Write([]byte("expensive report"))
	})
	f.do(http.MethodGet, "/v1/reports/sales?year=2026")
	f.do("BREW", "/")
	f.do("BREW", "/v1/reports/sales")
	w := f.do(http.MethodGet, "/v1/reports/sales?year=2026")
	assert.EqualValues(t, 3, f.o.calls.Load(), "Cache-Status %q", w.Header().Get("Cache-Status"))
}

// Guards: a successful unsafe request invalidates its URI (every query of
// its path), not the paths under it (RFC 9111 §4.4); a method listed in
// Config.UnsafeMethods invalidates like POST.
func TestUnsafeRequestInvalidatesItsURIOnly(t *testing.T) {
	f := newFixture(t, Config{UnsafeMethods: []string{"BREW"}}, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Cache-Control", "max-age=600")
		_, _ = w.Write([]byte("x"))
	})
	f.do(http.MethodGet, "/")
	f.do(http.MethodGet, "/items?page=2")
	f.do(http.MethodGet, "/items/1")
	f.do(http.MethodPost, "/")
	f.do(http.MethodGet, "/items?page=2")
	f.do(http.MethodGet, "/items/1")
	assert.EqualValues(t, 4, f.o.calls.Load(), "POST / (one call) invalidates / alone")
	f.do(http.MethodGet, "/")
	assert.EqualValues(t, 5, f.o.calls.Load(), "POST / invalidates /")
	f.do("BREW", "/items")
	f.do(http.MethodGet, "/items?page=2")
	f.do(http.MethodGet, "/items/1")
	assert.EqualValues(t, 7, f.o.calls.Load(), "BREW /items (configured) invalidates /items, every query, not /items/1")
}

// Guards: a handler doing conditional GET itself (http.ServeContent) gets
// its 304 to the client for responses the cache does not store: on a call
// of its own the handler sees the conditionals; on the shared call (which
// cannot see them) the cache answers If-None-Match from the response.
func TestConditionalGetOnUnstoredResponses(t *testing.T) {
	mod := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var sawINM []string
	f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
		sawINM = append(sawINM, r.Header.Get("If-None-Match"))
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Etag", `"v1"`)
		http.ServeContent(w, r, "x.txt", mod, strings.NewReader("big body"))
	})
	for i := range 3 {
		w := f.do(http.MethodGet, "/file", "If-None-Match", `"v1"`, "If-Modified-Since", mod.Format(http.TimeFormat))
		require.Equal(t, http.StatusNotModified, w.Code, "request %d: Cache-Status %q", i, w.Header().Get("Cache-Status"))
		assert.Empty(t, w.Body.String())
	}
	assert.Equal(t, []string{"", `"v1"`, `"v1"`}, sawINM, "the shared first call strips them; direct calls pass them on")
	w := f.do(http.MethodGet, "/file")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "big body", w.Body.String())
}

// Guards: a 304 from a handler that saw the conditionals does not mark the
// URL uncacheable, and a storable full response still is stored.
func TestHandler304DoesNotMarkUncacheable(t *testing.T) {
	f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Etag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write([]byte("x"))
	})
	w := f.do(http.MethodGet, "/r", "If-None-Match", `"v1"`)
	assert.Equal(t, http.StatusNotModified, w.Code)
	f.do(http.MethodGet, "/r")
	w = f.do(http.MethodGet, "/r")
	assert.Equal(t, "x", w.Body.String())
	assert.Contains(t, w.Header().Get("Cache-Status"), "hit")
}

// Guards: an answer invalidated after its call stored it is not handed to
// a request that joins the call afterwards (reusable rechecks validity).
func TestReusableRechecksInvalidation(t *testing.T) {
	f := newFixture(t, Config{}, reply(200, "max-age=60", "x"))
	info := f.m.describe(httptest.NewRequest(http.MethodGet, "/r", nil))
	res := &entry{decision: decisionStored, shared: true, seq: f.m.inval.current(),
		slots: f.m.inval.pathSlots("/r", nil)}
	r := httptest.NewRequest(http.MethodGet, "/r", nil)
	require.True(t, f.m.reusable(res, r, &info))
	f.m.InvalidatePrefix("/r")
	assert.False(t, f.m.reusable(res, r, &info))
}
