package httpcache

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A response over MaxResponseSize reaches its client whole, streamed, and
// is not stored; concurrent requests that waited each get it whole too.
func TestResponsesOverTheSizeBoundAreNotStored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		big := strings.Repeat("x", 5000)
		release := make(chan struct{})
		f := newFixture(t, Config{MaxResponseSize: 1024}, func(w http.ResponseWriter, r *http.Request) {
			<-release
			w.Header().Set("Cache-Control", "max-age=60")
			for i := 0; i < len(big); i += 100 {
				_, _ = w.Write([]byte(big[i : i+100]))
			}
		})
		var wg sync.WaitGroup
		bodies := make([]string, 3)
		for i := range bodies {
			wg.Go(func() { bodies[i] = f.do("GET", "/big").Body.String() })
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		for _, b := range bodies {
			assert.Equal(t, big, b)
		}
		calls := f.o.calls.Load()
		assert.Equal(t, big, f.do("GET", "/big").Body.String())
		assert.Equal(t, calls+1, f.o.calls.Load(), "not stored")
		assert.Zero(t, f.m.Stats().Stored)
	})
}

// Stored bytes never exceed MaxBytes, and the count is exact as responses
// are replaced, invalidated and expire.
func TestStoredBytesAreBoundedAndExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{MaxResponseSize: 2048, MaxBytes: 8192}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Surrogate-Key", "all")
			reply(200, "max-age=60", strings.Repeat("y", 1000))(w, r)
		})
		for i := range 20 {
			f.do("GET", fmt.Sprint("/r", i))
			assert.LessOrEqual(t, f.m.Stats().Bytes, int64(8192))
		}
		s := f.m.Stats()
		assert.Positive(t, s.Stored)
		require.Greater(t, s.NotStored, int64(0), "the rest did not fit")
		for range 5 { // replace the stored ones again and again
			f.m.InvalidateTags("all")
			for i := range 20 {
				f.do("GET", fmt.Sprint("/r", i))
			}
		}
		assert.LessOrEqual(t, f.m.Stats().Bytes, int64(8192))
		f.m.store.Purge()
		assert.Zero(t, f.m.Stats().Bytes, "every record released once")
		assert.Zero(t, f.m.Stats().Entries)
	})
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Capacity: -1}, "Config.Capacity must not be negative, got -1"},
		{Config{MaxResponseSize: -5}, "Config.MaxResponseSize"},
		{Config{MaxBytes: 10, MaxResponseSize: 20}, "Config.MaxBytes (10) must be at least Config.MaxResponseSize (20)"},
		{Config{DefaultTTL: -1}, "Config.DefaultTTL"},
		{Config{LoadTimeout: -1}, "Config.LoadTimeout"},
		{Config{TagHeader: "bad header"}, `Config.TagHeader must be a header field name, got "bad header"`},
		{Config{CacheStatus: "a;b"}, "Config.CacheStatus"},
	} {
		_, err := New(c.cfg)
		require.Error(t, err)
		assert.Contains(t, err.Error(), c.want)
		assert.True(t, strings.HasPrefix(err.Error(), "httpcache: "), err.Error())
	}
}

// After Close, wrapped handlers answer without the cache.
func TestClosedMiddlewarePassesRequestsOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{}, reply(200, "max-age=60", "x"))
		f.do("GET", "/r")
		require.NoError(t, f.m.Close())
		require.NoError(t, f.m.Close(), "idempotent")
		assert.Equal(t, "x", f.do("GET", "/r").Body.String())
		assert.EqualValues(t, 2, f.o.calls.Load())
	})
}

// A handler that panics in a shared call: each request calls it again on
// its own goroutine, where net/http would recover the panic as without a
// cache.
func TestPanickingHandlerReachesTheRequestGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{}, func(http.ResponseWriter, *http.Request) { panic("boom") })
		assert.PanicsWithValue(t, "boom", func() { f.do("GET", "/r") })
		assert.EqualValues(t, 2, f.o.calls.Load(), "the shared call (recovered) and the request's own")
	})
}
