package httpcache

import (
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestInvalidateTags(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Surrogate-Key", "reports "+r.URL.Query().Get("tag"))
			reply(200, "max-age=600", "x")(w, r)
		})
		f.do("GET", "/a?tag=sales")
		f.do("GET", "/b?tag=stock")
		f.m.InvalidateTags("sales")
		f.do("GET", "/a?tag=sales")
		f.do("GET", "/b?tag=stock")
		assert.EqualValues(t, 3, f.o.calls.Load(), "only the sales response")
		f.m.InvalidateTags("reports")
		f.do("GET", "/a?tag=sales")
		f.do("GET", "/b?tag=stock")
		assert.EqualValues(t, 5, f.o.calls.Load(), "both carry reports")
	})
}

func TestInvalidatePrefixStopsAtSegments(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{}, reply(200, "max-age=600", "x"))
		for _, p := range []string{"/v1/orders", "/v1/orders/7", "/v1/ordersX", "/v1/customers"} {
			f.do("GET", p)
		}
		f.m.InvalidatePrefix("/v1/orders/")
		for _, p := range []string{"/v1/orders", "/v1/orders/7", "/v1/ordersX", "/v1/customers"} {
			f.do("GET", p)
		}
		assert.EqualValues(t, 6, f.o.calls.Load())
		f.m.InvalidatePrefix("/")
		f.do("GET", "/v1/customers")
		assert.EqualValues(t, 7, f.o.calls.Load(), "/ covers everything")
	})
}

// An invalidation while the handler call runs: the call's response, made
// from data the change may have missed, is never served afterwards.
func TestInvalidationDuringTheCallWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		entered, release := make(chan struct{}), make(chan struct{})
		first := true
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			if first {
				first = false
				close(entered)
				<-release
			}
			w.Header().Set("Surrogate-Key", "sales")
			reply(200, "max-age=600", "x")(w, r)
		})
		var wg sync.WaitGroup
		wg.Go(func() { f.do("GET", "/report") })
		<-entered
		f.m.InvalidateTags("sales")
		close(release)
		wg.Wait()
		f.do("GET", "/report")
		assert.EqualValues(t, 2, f.o.calls.Load())
	})
}

func TestConfigInvalidatesRunsOnSuccessfulMutations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{Invalidates: func(r *http.Request) []string { return []string{"sales"} }},
			func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					w.WriteHeader(http.StatusCreated)
					return
				}
				w.Header().Set("Surrogate-Key", "sales")
				reply(200, "max-age=600", "x")(w, r)
			})
		f.do("GET", "/reports/sales")
		f.do("POST", "/orders")
		f.do("GET", "/reports/sales")
		assert.EqualValues(t, 3, f.o.calls.Load())
	})
}

// A stale copy kept for stale-if-error is not served once invalidated,
// even by a request that found it before the invalidation.
func TestInvalidatedCopyIsNotServedOnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		status := 200
		entered, release := make(chan struct{}), make(chan struct{})
		f := newFixture(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			if status != 200 {
				close(entered)
				<-release
			}
			w.Header().Set("Surrogate-Key", "sales")
			reply(status, "max-age=10, stale-if-error=600", "x")(w, r)
		})
		f.do("GET", "/report")
		time.Sleep(20 * time.Second)
		status = 503
		var code int
		var wg sync.WaitGroup
		wg.Go(func() { code = f.do("GET", "/report").Code })
		<-entered
		f.m.InvalidateTags("sales")
		close(release)
		wg.Wait()
		assert.Equal(t, 503, code, "the error, not the invalidated copy")
	})
}
