package httpcache

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Many principals at once, some of them waiting on a call another started:
// every answer is the one made for its own principal.
func TestPrivateResponseIsNeverServedToAnotherPrincipal(t *testing.T) {
	for _, cc := range []string{"max-age=60", "private, max-age=60"} {
		t.Run(cc, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				f := newFixture(t, Config{Principal: byHeader}, func(w http.ResponseWriter, r *http.Request) {
					<-release // every request arrives while the first calls are running
					reply(200, cc, "for "+byHeader(r))(w, r)
				})
				var wg sync.WaitGroup
				bodies := make([]string, 40)
				for i := range bodies {
					wg.Go(func() { bodies[i] = f.as(fmt.Sprint("user", i%4), "/report").Body.String() })
				}
				synctest.Wait()
				close(release)
				wg.Wait()
				for i, body := range bodies {
					assert.Equal(t, fmt.Sprint("for user", i%4), body)
				}
				for i := range 8 {
					assert.Equal(t, fmt.Sprint("for user", i%4), f.as(fmt.Sprint("user", i%4), "/report").Body.String())
				}
				assert.LessOrEqual(t, f.o.calls.Load(), int64(40))
			})
		})
	}
}

// Requests for one key that miss together make one handler call.
func TestConcurrentMissesCallTheHandlerOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			<-release
			reply(200, "max-age=60", "report")(w, r)
		})
		var wg sync.WaitGroup
		codes := make([]string, 50)
		for i := range codes {
			wg.Go(func() { codes[i] = f.do("GET", "/report").Body.String() })
		}
		synctest.Wait()
		assert.EqualValues(t, 1, f.o.calls.Load())
		close(release)
		wg.Wait()
		for _, body := range codes {
			assert.Equal(t, "report", body)
		}
		assert.EqualValues(t, 1, f.o.calls.Load())
		assert.EqualValues(t, 49, f.m.Stats().Coalesced)
	})
}

// Waiters of a call whose response is not storable do not get it: each
// makes its own call (the answer could be someone else's), and later
// requests for the URL stop waiting for one another.
func TestWaitersDoNotShareAnUnstorableResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			<-release
			w.Header().Set("Set-Cookie", "id="+r.Header.Get("X-Id"))
			reply(200, "max-age=60", "for "+r.Header.Get("X-Id"))(w, r)
		})
		var wg sync.WaitGroup
		bodies := make([]string, 5)
		for i := range bodies {
			wg.Go(func() { bodies[i] = f.do("GET", "/r", "X-Id", fmt.Sprint(i)).Body.String() })
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		for i, body := range bodies {
			assert.Equal(t, fmt.Sprint("for ", i), body)
		}
		assert.EqualValues(t, 5, f.o.calls.Load())
		w := f.do("GET", "/r", "X-Id", "late")
		assert.Equal(t, "keel; fwd=bypass; detail=set_cookie", w.Header().Get("Cache-Status"), "marked: no waiting")
	})
}

// The parts of a key are length-prefixed: a query and a principal that
// concatenate to the same bytes are still two keys, and so are headers
// whose values would run together.
func TestKeysCannotBeConfused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{Principal: byHeader}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "X-A, X-B")
			reply(200, "max-age=60", r.URL.RawQuery+"|"+byHeader(r)+"|"+r.Header.Get("X-A")+"|"+r.Header.Get("X-B"))(w, r)
		})
		assert.Equal(t, "a|bc||", f.as("bc", "/r?a").Body.String())
		assert.Equal(t, "ab|c||", f.as("c", "/r?ab").Body.String())
		assert.Equal(t, "x|y|1|23", f.as("y", "/r?x", "X-A", "1", "X-B", "23").Body.String())
		assert.Equal(t, "x|y|12|3", f.as("y", "/r?x", "X-A", "12", "X-B", "3").Body.String())
		assert.EqualValues(t, 4, f.o.calls.Load())
	})
}

// Without a Principal hook, no credentialed request is served a response
// stored for another, even when the response forgot to say private.
func TestCredentialedRequestsWithoutAHookAreIsolated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			reply(200, "max-age=60", "for "+r.Header.Get("Authorization"))(w, r)
		})
		assert.Equal(t, "for Bearer a", f.do("GET", "/me", "Authorization", "Bearer a").Body.String())
		assert.Equal(t, "for Bearer b", f.do("GET", "/me", "Authorization", "Bearer b").Body.String())
		assert.Equal(t, "for ", f.do("GET", "/me").Body.String())
		assert.Equal(t, "for Bearer b", f.do("GET", "/me", "Authorization", "Bearer b").Body.String())
	})
}

func TestHostsAndSchemesAreSeparate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			reply(200, "max-age=60", r.Host)(w, r)
		})
		for _, host := range []string{"a.example", "b.example", "A.EXAMPLE"} {
			r := httptest.NewRequest("GET", "http://"+host+"/r", nil)
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, r)
		}
		assert.EqualValues(t, 2, f.o.calls.Load(), "host compared without case")
		r := httptest.NewRequest("GET", "https://a.example/r", nil)
		f.h.ServeHTTP(httptest.NewRecorder(), r)
		assert.EqualValues(t, 3, f.o.calls.Load(), "https is another key")
	})
}

// The tag field is for the cache, never for clients.
func TestTagFieldIsNotSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Surrogate-Key", "sales internal-name")
			reply(200, "max-age=60", "x")(w, r)
		})
		assert.Empty(t, f.do("GET", "/r").Header().Get("Surrogate-Key"), "miss")
		assert.Empty(t, f.do("GET", "/r").Header().Get("Surrogate-Key"), "hit")
		assert.Empty(t, f.do("GET", "/r", "Range", "bytes=0-1").Header().Get("Surrogate-Key"), "bypass")
	})
}

func TestHostileRequestFieldsAreBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{}, reply(200, "max-age=60", "x"))
		long := make([]byte, 9000)
		for i := range long {
			long[i] = 'a'
		}
		w := f.do("GET", "/r?"+string(long))
		assert.Equal(t, 200, w.Code)
		assert.Equal(t, "keel; fwd=bypass", w.Header().Get("Cache-Status"), "a key over 8 KiB is not cached")
		inm := make([]string, 0, 200)
		for range 200 {
			inm = append(inm, `"x"`)
		}
		f.do("GET", "/r")
		etag := f.do("GET", "/r").Header().Get("ETag")
		require.NotEmpty(t, etag)
		assert.Equal(t, 200, f.do("GET", "/r", "If-None-Match", fmt.Sprint(inm, etag)).Code, "more than 64 tags match nothing")
	})
}

// Two requests that differ in a field the response turns out to vary on
// may wait on one call (the cache cannot know the Vary before the first
// answer); the second gets an answer of its own.
func TestWaitersWithAnotherVariantMakeTheirOwnCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			<-release
			w.Header().Set("Vary", "Accept-Language")
			reply(200, "max-age=60", "in "+r.Header.Get("Accept-Language"))(w, r)
		})
		langs := []string{"en", "fr", "de", "en"}
		bodies := make([]string, len(langs))
		var wg sync.WaitGroup
		for i, lang := range langs {
			wg.Go(func() { bodies[i] = f.do("GET", "/r", "Accept-Language", lang).Body.String() })
			synctest.Wait() // in order: the first leads
		}
		close(release)
		wg.Wait()
		for i, lang := range langs {
			assert.Equal(t, "in "+lang, bodies[i])
		}
	})
}
