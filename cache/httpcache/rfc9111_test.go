package httpcache

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rfcRow is one line of the behaviour table in doc.go.
type rfcRow struct {
	section, behaviour string
	run                func(t *testing.T)
}

// rfcRows is the table; doc.go repeats its first two columns, in order
// (TestDocTableMatchesTheTest keeps them equal).
var rfcRows = []rfcRow{
	{"RFC 9111 §3, §4", "GET response with max-age is stored; the next request is a hit with Age", func(t *testing.T) {
		f := newFixture(t, Config{}, reply(200, "max-age=60", "report"))
		w := f.do("GET", "/r")
		assert.Equal(t, "keel; fwd=uri-miss; stored", w.Header().Get("Cache-Status"))
		time.Sleep(5 * time.Second)
		w = f.do("GET", "/r")
		assert.Equal(t, 200, w.Code)
		assert.Equal(t, "report", w.Body.String())
		assert.Equal(t, "5", w.Header().Get("Age"))
		assert.Equal(t, "max-age=60", w.Header().Get("Cache-Control"))
		assert.EqualValues(t, 1, f.o.calls.Load())
	}},
	{"RFC 9110 §9.3.2", "HEAD is answered from the stored GET response, without body", func(t *testing.T) {
		var methods []string
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			methods = append(methods, r.Method)
			reply(200, "max-age=60", "0123456789")(w, r)
		})
		w := f.do("HEAD", "/r")
		assert.Equal(t, 200, w.Code)
		assert.Empty(t, w.Body.String())
		assert.Equal(t, "10", w.Header().Get("Content-Length"))
		w = f.do("GET", "/r")
		assert.Equal(t, "0123456789", w.Body.String())
		assert.Equal(t, []string{"GET"}, methods, "the handler is called once, with GET")
	}},
	{"RFC 9111 §4.2.1, §5.2.2.1", "once max-age has passed, the handler is called again", func(t *testing.T) {
		f := newFixture(t, Config{}, reply(200, "max-age=10", "x"))
		f.do("GET", "/r")
		time.Sleep(9 * time.Second)
		f.do("GET", "/r")
		assert.EqualValues(t, 1, f.o.calls.Load(), "fresh at 9 s")
		time.Sleep(2 * time.Second)
		f.do("GET", "/r")
		assert.EqualValues(t, 2, f.o.calls.Load(), "stale at 11 s")
	}},
	{"RFC 9111 §5.2.2.10", "s-maxage overrides max-age and makes the response shared", func(t *testing.T) {
		f := newFixture(t, Config{Principal: byHeader}, func(w http.ResponseWriter, r *http.Request) {
			reply(200, "max-age=1, s-maxage=60", "for "+byHeader(r))(w, r)
		})
		f.as("alice", "/r")
		time.Sleep(5 * time.Second)
		w := f.as("bob", "/r")
		assert.Equal(t, "for alice", w.Body.String(), "shared, and fresh past max-age")
		assert.EqualValues(t, 1, f.o.calls.Load())
	}},
	{"RFC 9111 §5.3", "Expires gives the lifetime when max-age is absent; an invalid Expires is expired", func(t *testing.T) {
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			now := time.Now()
			w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
			if r.URL.Path == "/bad" {
				w.Header().Set("Expires", "0")
			} else {
				w.Header().Set("Expires", now.Add(30*time.Second).UTC().Format(http.TimeFormat))
			}
			_, _ = w.Write([]byte("x"))
		})
		f.do("GET", "/good")
		time.Sleep(20 * time.Second)
		f.do("GET", "/good")
		assert.EqualValues(t, 1, f.o.calls.Load())
		time.Sleep(11 * time.Second)
		f.do("GET", "/good")
		assert.EqualValues(t, 2, f.o.calls.Load())
		f.do("GET", "/bad")
		f.do("GET", "/bad")
		assert.EqualValues(t, 4, f.o.calls.Load())
	}},
	{"RFC 9111 §4.2.2", "no explicit lifetime: not stored, unless Config.DefaultTTL and a heuristic status", func(t *testing.T) {
		f := newFixture(t, Config{}, reply(200, "", "x"))
		f.do("GET", "/r")
		f.do("GET", "/r")
		assert.EqualValues(t, 2, f.o.calls.Load())
		status := 200
		g := newFixture(t, Config{DefaultTTL: time.Minute}, func(w http.ResponseWriter, r *http.Request) {
			reply(status, "", "x")(w, r)
		})
		g.do("GET", "/r")
		g.do("GET", "/r")
		assert.EqualValues(t, 1, g.o.calls.Load(), "200 with DefaultTTL")
		status = http.StatusFound
		g.do("GET", "/302")
		g.do("GET", "/302")
		assert.EqualValues(t, 3, g.o.calls.Load(), "302 is not heuristically cacheable")
	}},
	{"RFC 9111 §5.2.2.5", "no-store: never stored", func(t *testing.T) {
		f := newFixture(t, Config{}, reply(200, "no-store, max-age=60", "x"))
		f.do("GET", "/r")
		f.do("GET", "/r")
		assert.EqualValues(t, 2, f.o.calls.Load())
	}},
	{"RFC 9111 §5.2.2.4", "no-cache: not stored (every use would need a handler call)", func(t *testing.T) {
		f := newFixture(t, Config{}, reply(200, "no-cache, max-age=60", "x"))
		f.do("GET", "/r")
		f.do("GET", "/r")
		assert.EqualValues(t, 2, f.o.calls.Load())
	}},
	{"RFC 9111 §5.2.2.7", "private: not stored without a principal; stored per principal, never served to another", func(t *testing.T) {
		echo := func(w http.ResponseWriter, r *http.Request) {
			reply(200, "private, max-age=60", "for "+byHeader(r))(w, r)
		}
		f := newFixture(t, Config{}, echo)
		f.do("GET", "/r")
		f.do("GET", "/r")
		assert.EqualValues(t, 2, f.o.calls.Load(), "no Principal hook")
		g := newFixture(t, Config{Principal: byHeader}, echo)
		assert.Equal(t, "for alice", g.as("alice", "/r").Body.String())
		assert.Equal(t, "for alice", g.as("alice", "/r").Body.String())
		assert.EqualValues(t, 1, g.o.calls.Load())
		assert.Equal(t, "for bob", g.as("bob", "/r").Body.String())
		assert.Equal(t, "for ", g.as("", "/r").Body.String(), "anonymous is not stored: private needs a principal")
		assert.EqualValues(t, 3, g.o.calls.Load())
	}},
	{"RFC 9111 §5.2.2.9", "public: one stored response serves every principal", func(t *testing.T) {
		f := newFixture(t, Config{Principal: byHeader}, reply(200, "public, max-age=60", "same for all"))
		f.as("alice", "/r")
		assert.Equal(t, "same for all", f.as("bob", "/r").Body.String())
		f.as("", "/r")
		assert.EqualValues(t, 1, f.o.calls.Load())
	}},
	{"RFC 9111 §3.5", "Authorization without a Principal hook: not stored unless public or s-maxage", func(t *testing.T) {
		credentialsRow(t, "Authorization", "Bearer secret")
	}},
	{"RFC 9111 §3.5 (Keel)", "Cookie without a Principal hook: treated as Authorization", func(t *testing.T) {
		credentialsRow(t, "Cookie", "session=secret")
	}},
	{"RFC 9111 §7.3 (Keel)", "a response with Set-Cookie is never stored", func(t *testing.T) {
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Set-Cookie", "session=abc")
			reply(200, "public, max-age=60", "x")(w, r)
		})
		f.do("GET", "/r")
		w := f.do("GET", "/r")
		assert.EqualValues(t, 2, f.o.calls.Load())
		assert.Equal(t, "session=abc", w.Header().Get("Set-Cookie"), "passed to the client, not stored")
	}},
	{"RFC 9111 §4.1", "Vary: one stored response per value of the named fields", func(t *testing.T) {
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "accept-language")
			reply(200, "max-age=60", "in "+r.Header.Get("Accept-Language"))(w, r)
		})
		assert.Equal(t, "in en", f.do("GET", "/r", "Accept-Language", "en").Body.String())
		assert.Equal(t, "in fr", f.do("GET", "/r", "Accept-Language", "fr").Body.String())
		assert.Equal(t, "in en", f.do("GET", "/r", "Accept-Language", "en").Body.String())
		assert.Equal(t, "in fr", f.do("GET", "/r", "Accept-Language", "fr").Body.String())
		assert.EqualValues(t, 2, f.o.calls.Load())
	}},
	{"RFC 9111 §4.1", "Vary: * is never stored", func(t *testing.T) {
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Accept, *")
			reply(200, "max-age=60", "x")(w, r)
		})
		f.do("GET", "/r")
		f.do("GET", "/r")
		assert.EqualValues(t, 2, f.o.calls.Load())
	}},
	{"RFC 9111 §3 (Keel)", "5xx, 206 and other statuses outside RFC 9110 §15.1's list and 302/307 are not stored", func(t *testing.T) {
		for status, stored := range map[int]bool{500: false, 503: false, 206: false, 201: false, 404: true, 301: true, 302: true} {
			f := newFixture(t, Config{}, reply(status, "max-age=60", "x"))
			f.do("GET", "/r")
			f.do("GET", "/r")
			want := int64(2)
			if stored {
				want = 1
			}
			assert.Equal(t, want, f.o.calls.Load(), "status %d", status)
		}
	}},
	{"RFC 9111 §3.3, §3.4", "a Range request bypasses the cache", func(t *testing.T) {
		f := newFixture(t, Config{}, reply(200, "max-age=60", "0123456789"))
		f.do("GET", "/r")
		w := f.do("GET", "/r", "Range", "bytes=0-3")
		assert.Equal(t, "keel; fwd=bypass", w.Header().Get("Cache-Status"))
		assert.EqualValues(t, 2, f.o.calls.Load())
	}},
	{"RFC 9111 §4.4", "a successful unsafe request invalidates its URI and same-origin Location, not paths under them; a failed one, or an unknown method, does not", func(t *testing.T) {
		status := 201
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet {
				if r.URL.Path == "/other" {
					w.Header().Set("Location", "/items/2")
				}
				w.WriteHeader(status)
				return
			}
			reply(200, "max-age=60", "item")(w, r)
		})
		f.do("GET", "/items")
		f.do("GET", "/items/1")
		f.do("GET", "/items/2")
		status = 400
		f.do("POST", "/items")
		f.do("GET", "/items")
		assert.EqualValues(t, 4, f.o.calls.Load(), "a failed POST invalidates nothing")
		status = 201
		f.do("POST", "/items")
		f.do("GET", "/items")
		f.do("GET", "/items/1")
		assert.EqualValues(t, 6, f.o.calls.Load(), "/items reloaded, /items/1 still stored")
		f.do("POST", "/other")
		f.do("GET", "/items/2")
		assert.EqualValues(t, 8, f.o.calls.Load(), "Location /items/2 invalidated")
		f.do("BREW", "/items")
		f.do("GET", "/items")
		assert.EqualValues(t, 9, f.o.calls.Load(), "an unknown method invalidates nothing")
	}},
	{"RFC 9111 §5.2.1 (Keel)", "request Cache-Control (no-cache, max-age=0) is ignored: clients cannot force handler calls", func(t *testing.T) {
		f := newFixture(t, Config{}, reply(200, "max-age=60", "x"))
		f.do("GET", "/r")
		f.do("GET", "/r", "Cache-Control", "no-cache")
		f.do("GET", "/r", "Cache-Control", "max-age=0", "Pragma", "no-cache")
		assert.EqualValues(t, 1, f.o.calls.Load())
	}},
	{"RFC 5861 §3", "stale-while-revalidate: the stale response is served and one background call replaces it", func(t *testing.T) {
		var version atomic.Int64
		release := make(chan struct{})
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			v := version.Add(1)
			if v == 2 {
				<-release // the background call, held while stale answers go out
			}
			reply(200, "max-age=10, stale-while-revalidate=30", "v"+string(rune('0'+v)))(w, r)
		})
		f.do("GET", "/r")
		time.Sleep(15 * time.Second)
		for range 3 {
			w := f.do("GET", "/r")
			assert.Equal(t, "v1", w.Body.String(), "stale, at once")
			assert.Equal(t, "keel; hit; ttl=-5", w.Header().Get("Cache-Status"))
		}
		synctest.Wait()
		assert.EqualValues(t, 2, f.o.calls.Load(), "one background call")
		close(release)
		synctest.Wait()
		assert.Equal(t, "v2", f.do("GET", "/r").Body.String())
		time.Sleep(50 * time.Second)
		assert.Equal(t, "v3", f.do("GET", "/r").Body.String(), "past the window: a call of its own")
	}},
	{"RFC 5861 §4", "stale-if-error: a 5xx from the handler is answered with the stale response", func(t *testing.T) {
		status := 200
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			reply(status, "max-age=10, stale-if-error=60", "status "+http.StatusText(status))(w, r)
		})
		f.do("GET", "/r")
		status = 503
		time.Sleep(15 * time.Second)
		w := f.do("GET", "/r")
		assert.Equal(t, 200, w.Code)
		assert.Equal(t, "status OK", w.Body.String())
		assert.Contains(t, w.Header().Get("Cache-Status"), "detail=stale-if-error")
		time.Sleep(60 * time.Second)
		assert.Equal(t, 503, f.do("GET", "/r").Code, "past the window the error is passed on")
	}},
	{"RFC 9111 §5.2.2.2", "must-revalidate: no stale response is served", func(t *testing.T) {
		var version atomic.Int64
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			reply(200, "max-age=10, stale-while-revalidate=30, stale-if-error=30, must-revalidate", "v"+string(rune('0'+version.Add(1))))(w, r)
		})
		f.do("GET", "/r")
		time.Sleep(15 * time.Second)
		assert.Equal(t, "v2", f.do("GET", "/r").Body.String())
	}},
	{"RFC 9110 §8.8.3, §13.1.2", "a strong ETag is generated; If-None-Match (weak comparison, lists, *) gets 304", func(t *testing.T) {
		f := newFixture(t, Config{}, reply(200, "max-age=60", "body"))
		etag := f.do("GET", "/r").Header().Get("ETag")
		require.Regexp(t, `^"[A-Za-z0-9_-]{22}"$`, etag, "strong: no W/")
		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
			w := f.do("GET", "/r", "If-None-Match", inm)
			assert.Equal(t, 304, w.Code, inm)
			assert.Empty(t, w.Body.String())
			assert.Equal(t, etag, w.Header().Get("ETag"))
		}
		for _, inm := range []string{`"other"`, `garbage ` + etag, etag[:5]} {
			assert.Equal(t, 200, f.do("GET", "/r", "If-None-Match", inm).Code, inm)
		}
		assert.EqualValues(t, 1, f.o.calls.Load())
		g := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"v7"`)
			reply(200, "max-age=60", "body")(w, r)
		})
		assert.Equal(t, 304, g.do("GET", "/r", "If-None-Match", `"v7"`).Code, "the handler's own ETag is kept, on a miss too")
	}},
	{"RFC 9111 §4.3.1, §4.3.4", "a stale response with the handler's ETag or Last-Modified is revalidated conditionally; a 304 refreshes it, body and tags kept", func(t *testing.T) {
		var asked []string
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			asked = append(asked, r.Header.Get("If-None-Match")+"|"+r.Header.Get("If-Modified-Since"))
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Last-Modified", "Mon, 30 Nov 2026 10:00:00 GMT")
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.Header().Set("Cache-Control", "max-age=20")
				w.Header().Set("X-Refreshed", "yes")
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=30")
			w.Header().Set("Surrogate-Key", "sales")
			w.Header().Set("X-Refreshed", "no")
			_, _ = w.Write([]byte("the report"))
		})
		f.do("GET", "/r")
		time.Sleep(15 * time.Second)
		assert.Equal(t, "the report", f.do("GET", "/r").Body.String(), "stale, while one background call revalidates")
		synctest.Wait()
		require.Equal(t, []string{"|", `"v1"|Mon, 30 Nov 2026 10:00:00 GMT`}, asked, "the background call sends the stored validators")
		time.Sleep(15 * time.Second) // fresh for 20 s from the 304, not 10 s from the first answer
		w := f.do("GET", "/r")
		assert.Equal(t, 200, w.Code)
		assert.Equal(t, "the report", w.Body.String(), "the stored body is kept")
		assert.Equal(t, "yes", w.Header().Get("X-Refreshed"), "the 304's fields replace the stored ones")
		assert.Equal(t, "max-age=20", w.Header().Get("Cache-Control"))
		assert.Equal(t, "keel; hit; ttl=5", w.Header().Get("Cache-Status"))
		assert.EqualValues(t, 2, f.o.calls.Load())
		time.Sleep(10 * time.Second) // stale, no stale-while-revalidate now: the request waits for the conditional call
		w = f.do("GET", "/r", "If-None-Match", `"v1"`)
		assert.Equal(t, 304, w.Code, "the client's own If-None-Match is answered against the refreshed response")
		assert.Equal(t, `"v1"|Mon, 30 Nov 2026 10:00:00 GMT`, asked[len(asked)-1])
		assert.EqualValues(t, 2, f.m.Stats().Revalidated)
		f.m.InvalidateTags("sales")
		f.do("GET", "/r")
		assert.Equal(t, "|", asked[len(asked)-1], "the refreshed response kept its tag: invalidated, fetched in full")
	}},
	{"RFC 9111 §4.3.1 (Keel)", "an ETag the cache generated is never sent to the handler; a 200 to a revalidation replaces the stored response", func(t *testing.T) {
		var asked []string
		version := 0
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			asked = append(asked, r.Header.Get("If-None-Match"))
			version++
			if r.URL.Path == "/own" {
				w.Header().Set("ETag", `"own`+strconv.Itoa(version)+`"`)
			}
			reply(200, "max-age=10", "v"+strconv.Itoa(version))(w, r)
		})
		generated := f.do("GET", "/plain").Header().Get("ETag")
		require.NotEmpty(t, generated)
		time.Sleep(15 * time.Second)
		assert.Equal(t, "v2", f.do("GET", "/plain").Body.String())
		assert.Equal(t, []string{"", ""}, asked, "no If-None-Match with the generated ETag")
		f.do("GET", "/own")
		time.Sleep(15 * time.Second)
		w := f.do("GET", "/own")
		assert.Equal(t, "v4", w.Body.String(), "the handler's 200 replaces the stored response")
		assert.Equal(t, `"own3"`, asked[3], "asked with its own ETag")
		assert.Equal(t, "v4", f.do("GET", "/own").Body.String(), "and is stored")
		assert.EqualValues(t, 4, f.o.calls.Load())
		assert.Zero(t, f.m.Stats().Revalidated)
	}},
	{"RFC 9111 §4.3.4 (Keel)", "a 304 never widens who may see a stored response: a private one the 304 calls public is fetched in full", func(t *testing.T) {
		f := newFixture(t, Config{Principal: byHeader}, func(w http.ResponseWriter, r *http.Request) {
			user := byHeader(r)
			w.Header().Set("ETag", `"`+user+`-1"`)
			if r.Header.Get("If-None-Match") == `"`+user+`-1"` {
				w.Header().Set("Cache-Control", "public, max-age=60") // one 304 helper for the whole site
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("Cache-Control", "private, max-age=10")
			_, _ = w.Write([]byte("account of " + user))
		})
		f.as("alice", "/me")
		time.Sleep(15 * time.Second)
		assert.Equal(t, "account of alice", f.as("alice", "/me").Body.String())
		assert.EqualValues(t, 3, f.o.calls.Load(), "the widening 304 is followed by a full call")
		assert.Zero(t, f.m.Stats().Revalidated, "nothing was refreshed")
		assert.Equal(t, "account of bob", f.as("bob", "/me").Body.String(), "Bob never gets Alice's body")
		assert.Equal(t, "account of alice", f.as("alice", "/me").Body.String(), "still stored for Alice alone")
		assert.EqualValues(t, 4, f.o.calls.Load())
	}},
	{"RFC 9111 §4.3.1 (Keel)", "a generated ETag stays the cache's after a 304 refresh: a Last-Modified-only response is still revalidated by date", func(t *testing.T) {
		lastModified := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
		var asked []string
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			asked = append(asked, r.Header.Get("If-None-Match")+"|"+r.Header.Get("If-Modified-Since"))
			w.Header().Set("Cache-Control", "max-age=10")
			http.ServeContent(w, r, "r.txt", lastModified, strings.NewReader("the report"))
		})
		generated := f.do("GET", "/r").Header().Get("ETag")
		require.NotEmpty(t, generated)
		for range 2 {
			time.Sleep(15 * time.Second)
			w := f.do("GET", "/r")
			assert.Equal(t, "the report", w.Body.String())
			assert.Equal(t, generated, w.Header().Get("ETag"), "the generated ETag is still served")
		}
		since := lastModified.Format(http.TimeFormat)
		assert.Equal(t, []string{"|", "|" + since, "|" + since}, asked, "never If-None-Match with the generated ETag")
		assert.EqualValues(t, 2, f.m.Stats().Revalidated, "both revalidations got the handler's 304")
	}},
	{"RFC 9111 §4.3.4", "a 304 whose ETag or Last-Modified is not the stored response's refreshes nothing: the handler is asked in full", func(t *testing.T) {
		var asked []string
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			asked = append(asked, r.Header.Get("If-None-Match")+"|"+r.Header.Get("If-Modified-Since"))
			w.Header().Set("Cache-Control", "max-age=10")
			if r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "" {
				if r.URL.Path == "/etag" {
					w.Header().Set("ETag", `"v2"`)
				} else {
					w.Header().Set("Last-Modified", "Tue, 01 Dec 2026 10:00:00 GMT")
				}
				w.WriteHeader(http.StatusNotModified)
				return
			}
			if r.URL.Path == "/etag" {
				w.Header().Set("ETag", `"v`+strconv.Itoa(len(asked))+`"`)
			} else {
				w.Header().Set("Last-Modified", "Mon, 30 Nov 2026 10:00:00 GMT")
			}
			_, _ = w.Write([]byte("body " + strconv.Itoa(len(asked))))
		})
		f.do("GET", "/etag")
		time.Sleep(15 * time.Second)
		w := f.do("GET", "/etag")
		assert.Equal(t, "body 3", w.Body.String(), "the full answer, not body 1 under ETag v2")
		assert.Equal(t, `"v3"`, w.Header().Get("ETag"))
		assert.Equal(t, []string{"|", `"v1"|`, "|"}, asked)
		f.do("GET", "/date")
		time.Sleep(15 * time.Second)
		w = f.do("GET", "/date")
		assert.Equal(t, "body 6", w.Body.String(), "a 304 with another Last-Modified selects nothing either")
		assert.Equal(t, "Mon, 30 Nov 2026 10:00:00 GMT", w.Header().Get("Last-Modified"))
		assert.Zero(t, f.m.Stats().Revalidated)
	}},
	{"RFC 9111 §4.3.4", "a 304 without Date is dated now: a stored Expires that has passed is not made fresh again", func(t *testing.T) {
		var expires time.Time
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified) // no Date, no Expires
				return
			}
			now := time.Now()
			expires = now.Add(10 * time.Second)
			w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
			w.Header().Set("Expires", expires.UTC().Format(http.TimeFormat))
			_, _ = w.Write([]byte("x"))
		})
		f.do("GET", "/r")
		time.Sleep(15 * time.Second)
		w := f.do("GET", "/r")
		assert.Equal(t, "x", w.Body.String(), "the 304 answers this request")
		assert.Equal(t, time.Now().UTC().Format(http.TimeFormat), w.Header().Get("Date"), "dated when the 304 came")
		time.Sleep(5 * time.Second)
		w = f.do("GET", "/r")
		assert.NotContains(t, w.Header().Get("Cache-Status"), "hit", "%v past its Expires", time.Since(expires))
		assert.EqualValues(t, 3, f.o.calls.Load())
	}},
	{"RFC 9111 §3.2", "a 304's Content-Type, Content-Encoding, Content-Range and Content-Length never replace the stored ones", func(t *testing.T) {
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Cache-Control", "max-age=10")
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.Header().Set("Content-Type", "text/html; charset=utf-8") // the page's type, set before the check
				w.Header().Set("Content-Encoding", "gzip")
				w.Header().Set("Content-Range", "bytes 0-1/2")
				w.Header().Set("Content-Length", "2")
				w.Header().Set("X-Refreshed", "yes")
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"name":"<script>alert(1)</script>"}`))
		})
		f.do("GET", "/api/item")
		time.Sleep(15 * time.Second)
		for _, w := range []*httptest.ResponseRecorder{f.do("GET", "/api/item"), f.do("GET", "/api/item")} {
			assert.Equal(t, "yes", w.Header().Get("X-Refreshed"), "other fields are refreshed")
			assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
			assert.Empty(t, w.Header().Get("Content-Encoding"))
			assert.Empty(t, w.Header().Get("Content-Range"))
			assert.Equal(t, strconv.Itoa(len(w.Body.String())), w.Header().Get("Content-Length"))
			assert.Equal(t, `{"name":"<script>alert(1)</script>"}`, w.Body.String())
		}
		assert.EqualValues(t, 1, f.m.Stats().Revalidated)
	}},
	{"RFC 9111 §4.2.1", "a duplicated or malformed max-age makes the response uncacheable", func(t *testing.T) {
		for _, cc := range []string{"max-age=10, max-age=20", "max-age=abc", "max-age", "max-age=-1"} {
			f := newFixture(t, Config{}, reply(200, cc, "x"))
			f.do("GET", "/r")
			f.do("GET", "/r")
			assert.EqualValues(t, 2, f.o.calls.Load(), cc)
		}
	}},
	{"RFC 9211", "Cache-Status says hit, miss (fwd=…) and stored", func(t *testing.T) {
		f := newFixture(t, Config{}, reply(200, "max-age=60", "x"))
		assert.Equal(t, "keel; fwd=uri-miss; stored", f.do("GET", "/r").Header().Get("Cache-Status"))
		time.Sleep(10 * time.Second)
		assert.Equal(t, "keel; hit; ttl=50", f.do("GET", "/r").Header().Get("Cache-Status"))
		g := newFixture(t, Config{}, reply(200, "no-store", "x"))
		assert.Equal(t, "keel; fwd=uri-miss; detail=no_store", g.do("GET", "/r").Header().Get("Cache-Status"))
		h := newFixture(t, Config{CacheStatus: "-"}, reply(200, "max-age=60", "x"))
		assert.Empty(t, h.do("GET", "/r").Header().Get("Cache-Status"))
	}},
}

// credentialsRow checks a credential field without a Principal hook.
func credentialsRow(t *testing.T, field, value string) {
	cc := "max-age=60"
	f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
		reply(200, cc, "seen "+r.Header.Get(field))(w, r)
	})
	f.do("GET", "/r", field, value)
	f.do("GET", "/r", field, value)
	assert.EqualValues(t, 2, f.o.calls.Load(), "not stored")
	assert.Equal(t, "seen ", f.do("GET", "/r").Body.String(), "an anonymous request never gets it")
	assert.Equal(t, "seen "+value, f.do("GET", "/r", field, value).Body.String(), "nor does it get the anonymous one")
	calls := f.o.calls.Load()
	cc = "public, max-age=60"
	f.do("GET", "/shared", field, value)
	assert.Equal(t, "seen "+value, f.do("GET", "/shared").Body.String(), "public: shared")
	assert.Equal(t, calls+1, f.o.calls.Load())
}

func TestRFC9111Behaviour(t *testing.T) {
	for _, row := range rfcRows {
		t.Run(row.section+" "+row.behaviour, func(t *testing.T) {
			synctest.Test(t, row.run)
		})
	}
}

// The table in doc.go is the test's: same rows, same order.
func TestDocTableMatchesTheTest(t *testing.T) {
	f, err := os.Open("doc.go")
	require.NoError(t, err)
	defer f.Close()
	var doc []string
	in := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		switch {
		case strings.HasPrefix(line, "//\tsection"):
			in = true
		case in && !strings.HasPrefix(line, "//\t"):
			in = false
		case in:
			doc = append(doc, strings.Join(strings.Fields(strings.TrimPrefix(line, "//\t")), " "))
		}
	}
	var rows []string
	for _, row := range rfcRows {
		rows = append(rows, row.section+" "+row.behaviour)
	}
	assert.Equal(t, rows, doc)
}
