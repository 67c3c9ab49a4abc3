package ratelimit_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/ratelimit"
)

func TestBulkheadWrap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := ratelimit.NewBulkhead(ratelimit.BulkheadConfig{Name: "reports", MaxInFlight: 1, MaxQueue: 1, MaxWait: 2 * time.Second})
		require.NoError(t, err)
		defer b.Close()
		release := make(chan struct{})
		h := b.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			<-release
			w.WriteHeader(http.StatusNoContent)
		}))
		do := func() chan *httptest.ResponseRecorder {
			out := make(chan *httptest.ResponseRecorder, 1)
			go func() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/reports", nil))
				out <- rec
			}()
			synctest.Wait()
			return out
		}

		first := do()  // runs
		second := do() // queued
		third := do()  // refused at once: the queue is full
		rec := <-third
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, "1", rec.Header().Get("Retry-After"))
		assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
		assert.Empty(t, rec.Header().Get("RateLimit"), "a bulkhead does not advertise its capacity")
		var body map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		assert.Equal(t, "overloaded", body["code"])
		assert.Equal(t, "https://iana.org/assignments/http-problem-types#temporary-reduced-capacity", body["type"])
		assert.Equal(t, []any{"reports"}, body["violated-policies"])

		release <- struct{}{}
		assert.Equal(t, http.StatusNoContent, (<-first).Code)
		synctest.Wait()
		release <- struct{}{}
		assert.Equal(t, http.StatusNoContent, (<-second).Code, "the queued request ran once a slot freed")

		// A queued request that waits past MaxWait is refused.
		blocker := do()
		late := do()
		start := time.Now()
		assert.Equal(t, http.StatusServiceUnavailable, (<-late).Code)
		assert.Equal(t, 2*time.Second, time.Since(start))
		release <- struct{}{}
		<-blocker
		assert.Equal(t, 0, b.InFlight())
	})
}
