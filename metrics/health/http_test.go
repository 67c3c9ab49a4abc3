package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/metrics/health"
)

func newRegistry(t *testing.T, cfg health.Config, checks ...health.Check) *health.Registry {
	t.Helper()
	r, err := health.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, r.Close()) })
	for _, c := range checks {
		require.NoError(t, r.Register(c))
	}
	return r
}

func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) health.Response {
	t.Helper()
	require.Equal(t, health.ContentType, rec.Header().Get("Content-Type"))
	var resp health.Response
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
	return resp
}

var (
	pass    = func(context.Context) error { return nil }
	failing = func(context.Context) error { return errors.New("dial tcp 10.0.0.7:5432: connection refused") }
	warning = func(context.Context) error { return health.Warn(errors.New("disk 91% full")) }
)

func TestReadyzStatusCombinations(t *testing.T) {
	for _, tc := range []struct {
		name   string
		checks []health.Check
		code   int
		status health.Status
		per    map[string]health.Status
	}{
		{"no checks", nil, 200, health.StatusPass, nil},
		{"all pass", []health.Check{{Name: "db", Func: pass}, {Name: "redis", Func: pass}},
			200, health.StatusPass, map[string]health.Status{"db": "pass", "redis": "pass"}},
		{"critical fails", []health.Check{{Name: "db", Func: failing}, {Name: "redis", Func: pass}},
			503, health.StatusFail, map[string]health.Status{"db": "fail", "redis": "pass"}},
		{"non-critical fails", []health.Check{{Name: "db", Func: pass}, {Name: "cache", Func: failing, NonCritical: true}},
			200, health.StatusWarn, map[string]health.Status{"db": "pass", "cache": "warn"}},
		{"check warns", []health.Check{{Name: "disk", Func: warning}},
			200, health.StatusWarn, map[string]health.Status{"disk": "warn"}},
		{"fail beats warn", []health.Check{{Name: "disk", Func: warning}, {Name: "db", Func: failing}},
			503, health.StatusFail, map[string]health.Status{"disk": "warn", "db": "fail"}},
		{"panicking check fails", []health.Check{{Name: "db", Func: func(context.Context) error { panic("bug") }}},
			503, health.StatusFail, map[string]health.Status{"db": "fail"}},
		{"liveness checks are not readiness", []health.Check{{Name: "deadlock", Func: failing, Kind: health.Liveness}},
			200, health.StatusPass, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRegistry(t, health.Config{ServiceID: "salesapi", Version: "1", ReleaseID: "1.4.0"}, tc.checks...)
			rec := get(t, r.Readyz(), "/readyz")
			assert.Equal(t, tc.code, rec.Code)
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			resp := decode(t, rec)
			assert.Equal(t, tc.status, resp.Status)
			assert.Equal(t, "salesapi", resp.ServiceID)
			assert.Equal(t, "1.4.0", resp.ReleaseID)
			assert.Len(t, resp.Checks, len(tc.per))
			for name, want := range tc.per {
				details := resp.Checks[name+":responseTime"]
				require.Len(t, details, 1, name)
				d := details[0]
				assert.Equal(t, want, d.Status, name)
				assert.Equal(t, "ms", d.ObservedUnit)
				assert.GreaterOrEqual(t, d.ObservedValue, 0.0)
				_, err := time.Parse(time.RFC3339, d.Time)
				assert.NoError(t, err, "time is RFC 3339")
				if want == health.StatusPass {
					assert.Empty(t, d.Output, "output only on failure")
				} else {
					assert.Equal(t, "reason withheld", d.Output, "details withheld by default")
				}
			}
			if tc.status == health.StatusFail {
				assert.Equal(t, "readyz check failed", resp.Output)
			} else {
				assert.Empty(t, resp.Output)
			}
		})
	}
}

func TestDetailsShownWhenConfigured(t *testing.T) {
	r := newRegistry(t, health.Config{ShowDetails: true},
		health.Check{Name: "db", Func: failing, ComponentType: "datastore"})
	resp := decode(t, get(t, r.Readyz(), "/readyz"))
	d := resp.Checks["db:responseTime"][0]
	assert.Equal(t, "dial tcp 10.0.0.7:5432: connection refused", d.Output)
	assert.Equal(t, "datastore", d.ComponentType)
}

func TestVerboseIsKubernetesText(t *testing.T) {
	r := newRegistry(t, health.Config{},
		health.Check{Name: "db", Func: pass},
		health.Check{Name: "disk", Func: warning},
		health.Check{Name: "redis", Func: failing})
	rec := get(t, r.Readyz(), "/readyz?verbose")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Equal(t, "[+]db ok\n[!]disk warn: reason withheld\n[-]redis failed: reason withheld\nreadyz check failed\n", rec.Body.String())

	rec = get(t, r.Readyz(), "/readyz?verbose=1&exclude=redis")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "[+]db ok\n[!]disk warn: reason withheld\nreadyz check passed\n", rec.Body.String())
}

func TestExcludeSkipsChecks(t *testing.T) {
	calls := 0
	r := newRegistry(t, health.Config{},
		health.Check{Name: "db", Func: func(context.Context) error { calls++; return errors.New("down") }})
	rec := get(t, r.Readyz(), "/readyz?exclude=db&exclude=unknown")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Zero(t, calls, "an excluded check is not run")
}

func TestLivezIsProcessOnly(t *testing.T) {
	r := newRegistry(t, health.Config{}, health.Check{Name: "db", Func: failing})
	rec := get(t, r.Livez(), "/livez")
	assert.Equal(t, http.StatusOK, rec.Code, "a dependency outage does not fail liveness")
	assert.Equal(t, health.StatusPass, decode(t, rec).Status)

	require.NoError(t, r.Register(health.Check{Name: "event-loop", Kind: health.Liveness, Func: failing}))
	rec = get(t, r.Livez(), "/livez?verbose")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "[-]event-loop failed: reason withheld\nlivez check failed\n", rec.Body.String())
}

func TestOnlyGetAndHead(t *testing.T) {
	r := newRegistry(t, health.Config{})
	rec := httptest.NewRecorder()
	r.Readyz().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/readyz", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))

	rec = httptest.NewRecorder()
	r.Readyz().ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/readyz", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
}

func TestTimeoutFailsTheCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRegistry(t, health.Config{}, health.Check{Name: "slow", Timeout: 2 * time.Second,
			Func: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }})
		start := time.Now()
		rec := get(t, r.Readyz(), "/readyz?verbose")
		assert.Equal(t, 2*time.Second, time.Since(start), "answers at the timeout")
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, "[-]slow failed: timed out\nreadyz check failed\n", rec.Body.String())
	})
}

func TestTimeoutHoldsWhenTheCheckIgnoresContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		r := newRegistry(t, health.Config{}, health.Check{Name: "stuck",
			Func: func(context.Context) error { <-release; return nil }})
		start := time.Now()
		rep := r.Run(context.Background(), health.Readiness)
		assert.Equal(t, health.DefaultTimeout, time.Since(start))
		assert.Equal(t, health.StatusFail, rep.Status)
		assert.ErrorIs(t, rep.Results[0].Err, health.ErrTimeout)
		close(release) // let the abandoned run end inside the bubble
	})
}

func TestRegisterValidates(t *testing.T) {
	r := newRegistry(t, health.Config{}, health.Check{Name: "db", Func: pass})
	for _, tc := range []struct {
		check health.Check
		want  string
	}{
		{health.Check{Func: pass}, `health: Check.Name must be 1-63 characters, got ""`},
		{health.Check{Name: "a b", Func: pass}, `health: Check.Name must be [A-Za-z0-9_.-], got "a b"`},
		{health.Check{Name: "x"}, `health: Check.Func of "x" must not be nil`},
		{health.Check{Name: "x", Func: pass, Timeout: -1}, `health: Check.Timeout of "x" must be >= 0, got -1ns`},
		{health.Check{Name: "x", Func: pass, Interval: -time.Second}, `health: Check.Interval of "x" must be >= 0, got -1s`},
		{health.Check{Name: "x", Func: pass, Kind: 7}, `health: Check.Kind of "x" must be Readiness or Liveness, got 7`},
		{health.Check{Name: "db", Func: pass}, `health: a check named "db" is already registered`},
	} {
		assert.EqualError(t, r.Register(tc.check), tc.want)
	}
}

func TestRegisterAfterClose(t *testing.T) {
	r, err := health.New(health.Config{})
	require.NoError(t, err)
	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "Close is idempotent")
	assert.EqualError(t, r.Register(health.Check{Name: "db", Func: pass}), `health: Register("db") after Close`)
}

func TestJSONShape(t *testing.T) {
	r := newRegistry(t, health.Config{}, health.Check{Name: "db", Func: pass, ComponentType: "datastore"})
	rec := get(t, r.Readyz(), "/readyz")
	body, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(body, &raw))
	assert.Equal(t, "pass", raw["status"])
	check := raw["checks"].(map[string]any)["db:responseTime"].([]any)[0].(map[string]any)
	assert.ElementsMatch(t, []string{"componentType", "observedValue", "observedUnit", "status", "time"}, mapKeys(check))
}

func mapKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestDrainFailsReadinessOnly(t *testing.T) {
	r := newRegistry(t, health.Config{}, health.Check{Name: "db", Func: pass})
	assert.Equal(t, http.StatusOK, get(t, r.Readyz(), "/readyz").Code)
	r.Drain()
	rec := get(t, r.Readyz(), "/readyz?verbose")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "[+]db ok\n[-]shutdown failed: shutting down\nreadyz check failed\n", rec.Body.String())
	resp := decode(t, get(t, r.Readyz(), "/readyz"))
	assert.Equal(t, health.StatusFail, resp.Status)
	assert.Equal(t, "system", resp.Checks["shutdown:responseTime"][0].ComponentType)
	assert.Equal(t, http.StatusOK, get(t, r.Livez(), "/livez").Code, "liveness is unaffected")
}

func TestSingleCheckEndpoint(t *testing.T) {
	r := newRegistry(t, health.Config{},
		health.Check{Name: "db", Func: pass},
		health.Check{Name: "redis", Func: failing},
		health.Check{Name: "loop", Kind: health.Liveness, Func: pass})
	mux := http.NewServeMux()
	mux.Handle("GET /readyz/{check}", r.Readyz())
	mux.Handle("GET /livez/{check}", r.Livez())

	rec := get(t, mux, "/readyz/db?verbose")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "[+]db ok\nreadyz check passed\n", rec.Body.String())

	rec = get(t, mux, "/readyz/redis")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Len(t, decode(t, rec).Checks, 1)

	assert.Equal(t, http.StatusNotFound, get(t, mux, "/readyz/nope").Code)
	assert.Equal(t, http.StatusNotFound, get(t, mux, "/readyz/loop").Code, "a liveness check is not a readiness check")
	assert.Equal(t, http.StatusOK, get(t, mux, "/livez/loop").Code)
}

// A nil Logger means no logs: a check that fails, whose status change is
// logged before listeners hear of it, does not panic.
func TestNilLoggerOnAFailingCheck(t *testing.T) {
	r := newRegistry(t, health.Config{}, health.Check{Name: "db", Func: failing})
	var changes []health.Change
	r.OnChange(func(c health.Change) { changes = append(changes, c) })
	assert.Equal(t, http.StatusServiceUnavailable, get(t, r.Readyz(), "/readyz").Code)
	require.Len(t, changes, 1, "the change was logged (nowhere) and then delivered")
	assert.Equal(t, health.StatusFail, changes[0].To)
}
