package health_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/metrics/health"
)

func TestHTTPCheckStatuses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
		case "/accepted":
			w.WriteHeader(http.StatusAccepted)
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	for _, c := range []struct {
		path   string
		expect int
		want   string
	}{
		{"/ok", 0, ""},
		{"/accepted", 0, ""},
		{"/accepted", 202, ""},
		{"/ok", 202, "answered 200, want 202"},
		{"/down?token=s3cret", 0, "answered 503, want 2xx"},
		{"/redirect", 0, "answered 302, want 2xx"},
	} {
		check, err := health.HTTP(health.HTTPCheck{URL: srv.URL + c.path, ExpectStatus: c.expect})
		require.NoError(t, err)
		err = check(context.Background())
		if c.want == "" {
			assert.NoError(t, err, c.path)
			continue
		}
		require.Error(t, err, c.path)
		assert.Contains(t, err.Error(), c.want)
		assert.NotContains(t, err.Error(), "s3cret", "no query in the error")
	}
}

func TestHTTPCheckTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A dependency that never answers: the check gives up at its
		// Timeout, not at the registry's.
		check, err := health.HTTP(health.HTTPCheck{URL: "http://slow.invalid/health", Timeout: 2 * time.Second,
			Client: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				<-r.Context().Done()
				return nil, r.Context().Err()
			})}})
		require.NoError(t, err)
		start := time.Now()
		err = check(context.Background())
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 2*time.Second, time.Since(start))
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestHTTPCheckValidates(t *testing.T) {
	for cfg, want := range map[health.HTTPCheck]string{
		{URL: "ftp://x"}:                         "health: HTTPCheck.URL must be an absolute http or https URL",
		{URL: "/relative"}:                       "health: HTTPCheck.URL must be an absolute http or https URL",
		{URL: "http://x", ExpectStatus: 42}:      "health: HTTPCheck.ExpectStatus must be 0 or 100..599, got 42",
		{URL: "http://x", Timeout: -time.Second}: "health: HTTPCheck.Timeout must be >= 0, got -1s",
	} {
		_, err := health.HTTP(cfg)
		assert.EqualError(t, err, want)
	}
}

// TestDetailsOnlyForAdmittedCallers: the same failing check shows its
// error to a caller ShowDetailsTo admits and withholds it from others.
func TestDetailsOnlyForAdmittedCallers(t *testing.T) {
	reg, err := health.New(health.Config{ShowDetailsTo: func(r *http.Request) bool {
		return r.Header.Get("Authorization") == "Bearer operator"
	}})
	require.NoError(t, err)
	defer reg.Close()
	require.NoError(t, reg.Register(health.Check{Name: "gateway", Func: func(context.Context) error {
		return assert.AnError
	}}))
	output := func(auth string) string {
		req := httptest.NewRequest(http.MethodGet, "/readyz", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		reg.Readyz().ServeHTTP(rec, req)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		var resp health.Response
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
		return resp.Checks["gateway:responseTime"][0].Output
	}
	assert.Equal(t, assert.AnError.Error(), output("Bearer operator"))
	assert.Equal(t, "reason withheld", output(""))
	assert.Equal(t, "reason withheld", output("Bearer someone"))
}
