package idempotency_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/keel-go/keel/idempotency"
)

// orders is a handler standing for POST /orders: it counts its side effects
// and answers what the test scripts.
type orders struct {
	runs    atomic.Int64
	status  atomic.Int64
	body    string
	block   chan struct{} // when set, the handler waits on it
	entered chan struct{}
}

func (o *orders) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.runs.Add(1)
	if o.entered != nil {
		o.entered <- struct{}{}
	}
	if o.block != nil {
		<-o.block
	}
	in, _ := io.ReadAll(r.Body)
	status := int(o.status.Load())
	if status == 0 {
		status = http.StatusCreated
	}
	w.Header().Set("Location", "/orders/42")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Set-Cookie", "session=secret")
	w.Header().Set("X-Request-Id", "not-replayed")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, o.body+string(in))
}

func newMiddleware(t *testing.T, store idempotency.Store, cfg idempotency.MiddlewareConfig) *idempotency.Middleware {
	t.Helper()
	m, err := idempotency.New(idempotency.Config{Store: store})
	require.NoError(t, err)
	cfg.Manager = m
	if cfg.Principal == nil {
		cfg.SharedKeySpace = true // these tests have one caller
	}
	mw, err := idempotency.NewMiddleware(cfg)
	require.NoError(t, err)
	return mw
}

func post(h http.Handler, key, body string) *httptest.ResponseRecorder {
	return do(h, http.MethodPost, "/orders", key, body, nil)
}

func do(h http.Handler, method, target, key, body string, edit func(*http.Request)) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if key != "" {
		r.Header.Set(idempotency.HeaderName, key)
	}
	if edit != nil {
		edit(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

type problemBody struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

func requireProblem(t *testing.T, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	require.Equal(t, status, w.Code, w.Body.String())
	assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
	var p problemBody
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
	assert.Equal(t, code, p.Code)
	assert.Equal(t, status, p.Status)
	assert.NotEmpty(t, p.Type)
	assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	assert.Equal(t, strconv.Itoa(w.Body.Len()), w.Header().Get("Content-Length"))
}

// TestMiddlewareWriteProblemHook: a service's own writer answers every
// refusal, with the problem the default writer would have written and the
// headers the refusal needs already set.
func TestMiddlewareWriteProblemHook(t *testing.T) {
	var got []idempotency.Problem
	write := func(w http.ResponseWriter, _ *http.Request, p idempotency.Problem) {
		got = append(got, p)
		w.Header().Set("Content-Type", "application/x-mine")
		w.WriteHeader(p.Status)
		_, _ = w.Write([]byte(p.Code))
	}
	store := idempotency.NewMemoryStore()
	h := newMiddleware(t, store, idempotency.MiddlewareConfig{RequireKey: true, WriteProblem: write}).Wrap(&orders{})
	w := post(h, "", "{}")
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Equal(t, "application/x-mine", w.Header().Get("Content-Type"))
	assert.Equal(t, idempotency.CodeKeyMissing, w.Body.String())
	require.Len(t, got, 1)
	assert.Equal(t, idempotency.Problem{Type: "about:blank", Title: "Bad Request", Status: http.StatusBadRequest,
		Detail: got[0].Detail, Code: idempotency.CodeKeyMissing}, got[0])
	assert.NotEmpty(t, got[0].Detail)

	require.Equal(t, http.StatusCreated, post(h, `"k1"`, `{"a":1}`).Code)
	w = post(h, `"k1"`, `{"a":2}`)
	assert.Equal(t, http.StatusUnprocessableEntity, w.Code)
	assert.Equal(t, idempotency.CodeKeyMismatch, w.Body.String())
	require.Len(t, got, 2)
}

func TestMiddlewareReplaysCompletedResponse(t *testing.T) {
	o := &orders{body: "order:"}
	h := newMiddleware(t, idempotency.NewMemoryStore(), idempotency.MiddlewareConfig{}).Wrap(o)

	first := post(h, `"key-1"`, `{"sku":"a"}`)
	require.Equal(t, http.StatusCreated, first.Code)
	assert.Equal(t, `order:{"sku":"a"}`, first.Body.String())
	assert.Empty(t, first.Header().Get(idempotency.ReplayedHeader))
	assert.Equal(t, "session=secret", first.Header().Get("Set-Cookie"), "the first response is the handler's own")

	for _, key := range []string{`"key-1"`, "key-1"} { // quoted and bare are the same key
		again := post(h, key, `{"sku":"a"}`)
		require.Equal(t, http.StatusCreated, again.Code)
		assert.Equal(t, first.Body.String(), again.Body.String())
		assert.Equal(t, "true", again.Header().Get(idempotency.ReplayedHeader))
		assert.Equal(t, "/orders/42", again.Header().Get("Location"))
		assert.Equal(t, "application/json", again.Header().Get("Content-Type"))
		assert.Empty(t, again.Header().Get("Set-Cookie"), "Set-Cookie is never replayed")
		assert.Empty(t, again.Header().Get("X-Request-Id"), "only allow-listed headers are replayed")
	}
	assert.Equal(t, int64(1), o.runs.Load(), "the side effect ran once")
}

func TestMiddlewareErrors(t *testing.T) {
	tests := []struct {
		name   string
		cfg    idempotency.MiddlewareConfig
		key    string
		body   string
		status int
		code   string
	}{
		{"missing key where required", idempotency.MiddlewareConfig{RequireKey: true}, "", "{}", 400, idempotency.CodeKeyMissing},
		{"invalid key", idempotency.MiddlewareConfig{}, `"unterminated`, "{}", 400, idempotency.CodeKeyInvalid},
		{"key too long", idempotency.MiddlewareConfig{}, strings.Repeat("k", 256), "{}", 400, idempotency.CodeKeyInvalid},
		{"body too large", idempotency.MiddlewareConfig{MaxRequestBody: 8}, "k", "123456789", 413, idempotency.CodeRequestTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := &orders{}
			w := post(newMiddleware(t, idempotency.NewMemoryStore(), tc.cfg).Wrap(o), tc.key, tc.body)
			requireProblem(t, w, tc.status, tc.code)
			assert.Zero(t, o.runs.Load(), "the handler does not run")
		})
	}
}

func TestMiddlewareProblemType(t *testing.T) {
	h := newMiddleware(t, idempotency.NewMemoryStore(), idempotency.MiddlewareConfig{
		RequireKey: true, ProblemType: "https://api.example.com/docs/idempotency",
	}).Wrap(&orders{})
	w := post(h, "", "{}")
	var p problemBody
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
	assert.Equal(t, "https://api.example.com/docs/idempotency#idempotency_key_missing", p.Type)
}

func TestMiddlewarePassesThrough(t *testing.T) {
	o := &orders{}
	h := newMiddleware(t, idempotency.NewMemoryStore(), idempotency.MiddlewareConfig{}).Wrap(o)
	// Without a key (not required) and for methods not configured, every
	// request runs.
	post(h, "", "{}")
	post(h, "", "{}")
	do(h, http.MethodGet, "/orders", "k", "", nil)
	do(h, http.MethodGet, "/orders", "k", "", nil)
	assert.Equal(t, int64(4), o.runs.Load())
}

func TestMiddlewareMismatch(t *testing.T) {
	o := &orders{}
	h := newMiddleware(t, idempotency.NewMemoryStore(), idempotency.MiddlewareConfig{}).Wrap(o)
	require.Equal(t, http.StatusCreated, post(h, "k", `{"amount":10}`).Code)
	requireProblem(t, post(h, "k", `{"amount":99}`), http.StatusUnprocessableEntity, idempotency.CodeKeyMismatch)
	requireProblem(t, do(h, http.MethodPost, "/orders?dry_run=1", "k", `{"amount":10}`, nil),
		http.StatusUnprocessableEntity, idempotency.CodeKeyMismatch)
	assert.Equal(t, int64(1), o.runs.Load())
}

func TestMiddlewareInProgress(t *testing.T) {
	o := &orders{block: make(chan struct{}), entered: make(chan struct{}, 1)}
	h := newMiddleware(t, idempotency.NewMemoryStore(), idempotency.MiddlewareConfig{}).Wrap(o)

	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- post(h, "k", "{}") }()
	<-o.entered

	w := post(h, "k", "{}")
	requireProblem(t, w, http.StatusConflict, idempotency.CodeInProgress)
	assert.Equal(t, "120", w.Header().Get("Retry-After"), "the remaining default lease, in seconds")

	close(o.block)
	require.Equal(t, http.StatusCreated, (<-done).Code)
	assert.Equal(t, "true", post(h, "k", "{}").Header().Get(idempotency.ReplayedHeader))
	assert.Equal(t, int64(1), o.runs.Load())
}

func TestMiddlewareStatusPolicy(t *testing.T) {
	tests := []struct {
		status int
		stored bool
	}{
		{http.StatusOK, true},
		{http.StatusCreated, true},
		{http.StatusBadRequest, true}, // the handler ran: a 4xx is the outcome
		{http.StatusNotFound, true},
		{http.StatusConflict, true},
		{http.StatusTooManyRequests, false},            // nothing happened; retry later
		{idempotency.StatusClientClosedRequest, false}, // the client left before the outcome
		{http.StatusInternalServerError, false},
		{http.StatusServiceUnavailable, false},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			o := &orders{}
			o.status.Store(int64(tc.status))
			h := newMiddleware(t, idempotency.NewMemoryStore(), idempotency.MiddlewareConfig{}).Wrap(o)
			require.Equal(t, tc.status, post(h, "k", "{}").Code)
			second := post(h, "k", "{}")
			require.Equal(t, tc.status, second.Code)
			if tc.stored {
				assert.Equal(t, "true", second.Header().Get(idempotency.ReplayedHeader))
				assert.Equal(t, int64(1), o.runs.Load())
			} else {
				assert.Empty(t, second.Header().Get(idempotency.ReplayedHeader))
				assert.Equal(t, int64(2), o.runs.Load(), "the key was released and the retry ran")
			}
		})
	}
}

func TestMiddlewarePanicReleasesKey(t *testing.T) {
	var runs atomic.Int64
	h := newMiddleware(t, idempotency.NewMemoryStore(), idempotency.MiddlewareConfig{}).Wrap(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if runs.Add(1) == 1 {
				panic("boom")
			}
			w.WriteHeader(http.StatusCreated)
		}))
	require.PanicsWithValue(t, "boom", func() { post(h, "k", "{}") }, "the panic reaches the server")
	assert.Equal(t, http.StatusCreated, post(h, "k", "{}").Code, "the retry runs")
	assert.Equal(t, "true", post(h, "k", "{}").Header().Get(idempotency.ReplayedHeader))
	assert.Equal(t, int64(2), runs.Load())
}

func TestMiddlewareLargeBodyNotStored(t *testing.T) {
	o := &orders{body: strings.Repeat("x", 100)}
	h := newMiddleware(t, idempotency.NewMemoryStore(), idempotency.MiddlewareConfig{MaxStoredBody: 64}).Wrap(o)
	first := post(h, "k", "")
	require.Equal(t, http.StatusCreated, first.Code)
	assert.Len(t, first.Body.String(), 100, "the client gets the whole body")

	replay := post(h, "k", "")
	require.Equal(t, http.StatusCreated, replay.Code)
	assert.Equal(t, "true", replay.Header().Get(idempotency.ReplayedHeader))
	assert.Equal(t, "/orders/42", replay.Header().Get("Location"))
	assert.Empty(t, replay.Body.String(), "an omitted body is replayed empty, never truncated")
	assert.Equal(t, "0", replay.Header().Get("Content-Length"))
	assert.Equal(t, int64(1), o.runs.Load())
}

func TestMiddlewarePrincipalsAreIsolated(t *testing.T) {
	o := &orders{}
	h := newMiddleware(t, idempotency.NewMemoryStore(), idempotency.MiddlewareConfig{
		Principal: func(r *http.Request) string { return r.Header.Get("X-Tenant") },
	}).Wrap(o)
	as := func(tenant string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("X-Tenant", tenant) }
	}
	require.Equal(t, http.StatusCreated, do(h, http.MethodPost, "/orders", "k", "{}", as("a")).Code)
	second := do(h, http.MethodPost, "/orders", "k", "{}", as("b"))
	require.Equal(t, http.StatusCreated, second.Code)
	assert.Empty(t, second.Header().Get(idempotency.ReplayedHeader), "tenant b never sees tenant a's result")
	assert.Equal(t, int64(2), o.runs.Load())
}

// A scope is required: without Principal, a second caller reusing the
// first caller's key would receive the first caller's response (issue #16).
func TestMiddlewareRequiresAPrincipalOrAnExplicitSharedKeySpace(t *testing.T) {
	m, err := idempotency.New(idempotency.Config{Store: idempotency.NewMemoryStore()})
	require.NoError(t, err)
	_, err = idempotency.NewMiddleware(idempotency.MiddlewareConfig{Manager: m})
	require.ErrorContains(t, err, "MiddlewareConfig.Principal is required")
	assert.ErrorContains(t, err, "SharedKeySpace", "the error names the way out")
	_, err = idempotency.NewMiddleware(idempotency.MiddlewareConfig{Manager: m, SharedKeySpace: true,
		Principal: func(*http.Request) string { return "a" }})
	require.ErrorContains(t, err, "exclude each other")

	// Chosen explicitly, a shared key space behaves as documented: any
	// caller who sends the key gets the stored response.
	o := &orders{}
	shared, err := idempotency.NewMiddleware(idempotency.MiddlewareConfig{Manager: m, SharedKeySpace: true})
	require.NoError(t, err)
	h := shared.Wrap(o)
	as := func(tenant string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("X-Tenant", tenant) }
	}
	require.Equal(t, http.StatusCreated, do(h, http.MethodPost, "/orders", "k", "{}", as("a")).Code)
	assert.Equal(t, "true", do(h, http.MethodPost, "/orders", "k", "{}", as("b")).Header().Get(idempotency.ReplayedHeader))
	assert.Equal(t, int64(1), o.runs.Load())
}

func TestMiddlewareRoutesAreSeparateScopes(t *testing.T) {
	var runs atomic.Int64
	mux := http.NewServeMux()
	count := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { runs.Add(1) })
	mux.Handle("POST /orders", count)
	mux.Handle("POST /refunds", count)
	mw := newMiddleware(t, idempotency.NewMemoryStore(), idempotency.MiddlewareConfig{
		Fingerprint: func(*http.Request, []byte) []byte { return nil }, // scope alone separates them
	})
	// Middleware inside the mux, so that r.Pattern is set.
	outer := http.NewServeMux()
	outer.Handle("POST /orders", mw.Wrap(count))
	outer.Handle("POST /refunds", mw.Wrap(count))
	do(outer, http.MethodPost, "/orders", "k", "", nil)
	do(outer, http.MethodPost, "/refunds", "k", "", nil)
	do(outer, http.MethodPost, "/refunds", "k", "", nil)
	assert.Equal(t, int64(2), runs.Load())
}

// failingStore fails every call, standing for a database that is down.
type failingStore struct{}

var errDown = errors.New("connection refused")

func (failingStore) Reserve(context.Context, idempotency.ReserveRequest) (idempotency.Reservation, error) {
	return idempotency.Reservation{}, errDown
}
func (failingStore) Complete(context.Context, idempotency.Lease, idempotency.Outcome) error {
	return errDown
}
func (failingStore) Release(context.Context, idempotency.Lease) error { return errDown }

func TestMiddlewareFailsClosedWhenStoreIsDown(t *testing.T) {
	o := &orders{}
	w := post(newMiddleware(t, failingStore{}, idempotency.MiddlewareConfig{}).Wrap(o), "k", "{}")
	requireProblem(t, w, http.StatusServiceUnavailable, idempotency.CodeStoreUnavailable)
	assert.Equal(t, "1", w.Header().Get("Retry-After"), "a 503 says when to retry")
	assert.NotContains(t, w.Body.String(), "connection refused", "store errors stay on the server")
	assert.Zero(t, o.runs.Load())
}

func TestMiddlewareHandlerCompletesItself(t *testing.T) {
	store := idempotency.NewMemoryStore()
	var runs atomic.Int64
	h := newMiddleware(t, store, idempotency.MiddlewareConfig{}).Wrap(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			runs.Add(1)
			lease, ok := idempotency.LeaseFromContext(r.Context())
			require.True(t, ok)
			// Stands for sqlstore's CompleteTx inside the handler's transaction.
			require.NoError(t, store.Complete(r.Context(), lease, idempotency.Outcome{Status: 201, Body: []byte("from tx")}))
			require.True(t, idempotency.MarkCompleted(r.Context()))
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, "from tx")
		}))
	require.Equal(t, "from tx", post(h, "k", "{}").Body.String())
	replay := post(h, "k", "{}")
	assert.Equal(t, "from tx", replay.Body.String())
	assert.Equal(t, "true", replay.Header().Get(idempotency.ReplayedHeader))
	assert.Equal(t, int64(1), runs.Load())

	_, ok := idempotency.LeaseFromContext(context.Background())
	assert.False(t, ok)
	assert.False(t, idempotency.MarkCompleted(context.Background()))
}

func TestMiddlewareConfigValidation(t *testing.T) {
	_, err := idempotency.NewMiddleware(idempotency.MiddlewareConfig{})
	require.ErrorContains(t, err, "MiddlewareConfig.Manager")
	m, err := idempotency.New(idempotency.Config{Store: idempotency.NewMemoryStore()})
	require.NoError(t, err)
	_, err = idempotency.NewMiddleware(idempotency.MiddlewareConfig{Manager: m, SharedKeySpace: true, MaxStoredBody: -1})
	require.ErrorContains(t, err, "MiddlewareConfig.MaxStoredBody")
	_, err = idempotency.NewMiddleware(idempotency.MiddlewareConfig{Manager: m, SharedKeySpace: true, MaxRequestBody: -1})
	require.ErrorContains(t, err, "MiddlewareConfig.MaxRequestBody")
}

func TestConfigValidation(t *testing.T) {
	store := idempotency.NewMemoryStore()
	tests := []struct {
		cfg  idempotency.Config
		want string
	}{
		{idempotency.Config{}, "Config.Store is required"},
		{idempotency.Config{Store: store, Lease: -time.Second}, "Config.Lease must be positive"},
		{idempotency.Config{Store: store, TTL: -time.Second}, "Config.TTL must be positive"},
		{idempotency.Config{Store: store, Lease: time.Microsecond}, "Config.Lease must be at least 1ms"},
		{idempotency.Config{Store: store, Lease: time.Hour, TTL: time.Minute}, "Config.TTL (1m0s) must be longer than Config.Lease (1h0m0s)"},
	}
	for _, tc := range tests {
		_, err := idempotency.New(tc.cfg)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
		assert.True(t, strings.HasPrefix(err.Error(), "idempotency: "))
	}
}

func TestBeginValidatesInput(t *testing.T) {
	m, err := idempotency.New(idempotency.Config{Store: idempotency.NewMemoryStore()})
	require.NoError(t, err)
	ctx := context.Background()
	for _, tc := range []struct{ scope, key, fp string }{
		{"s", "", ""},
		{"s", strings.Repeat("k", 256), ""},
		{"s", "tab\tkey", ""},
		{"s", "caf\xc3\xa9", ""},
		{strings.Repeat("s", 513), "k", ""},
		{"bad\xff", "k", ""},
		{"nul\x00", "k", ""},
		{"s", "k", strings.Repeat("f", 65)},
	} {
		_, err := m.Begin(ctx, tc.scope, tc.key, []byte(tc.fp))
		require.ErrorIs(t, err, idempotency.ErrInvalidKey, "scope %q key %q", tc.scope, tc.key)
	}
}

func TestBeginStoreErrorWrapsCause(t *testing.T) {
	m, err := idempotency.New(idempotency.Config{Store: failingStore{}})
	require.NoError(t, err)
	_, err = m.Begin(context.Background(), "s", "k", nil)
	require.ErrorIs(t, err, idempotency.ErrStore)
	require.ErrorIs(t, err, errDown)
	err = m.Complete(context.Background(), idempotency.Lease{Scope: "s", Key: "k", Token: "t"}, idempotency.Outcome{})
	require.ErrorIs(t, err, idempotency.ErrStore)
}

func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	m, err := idempotency.New(idempotency.Config{Store: idempotency.NewMemoryStore(), MeterProvider: mp})
	require.NoError(t, err)
	ctx := context.Background()
	b, err := m.Begin(ctx, "s", "k", []byte("a"))
	require.NoError(t, err)
	_, err = m.Begin(ctx, "s", "k", []byte("a"))
	require.ErrorIs(t, err, idempotency.ErrInProgress)
	_, err = m.Begin(ctx, "s", "k", []byte("b"))
	require.ErrorIs(t, err, idempotency.ErrMismatch)
	require.NoError(t, m.Complete(ctx, b.Lease, idempotency.Outcome{Status: 200}))
	_, err = m.Begin(ctx, "s", "k", []byte("a"))
	require.NoError(t, err)
	require.ErrorIs(t, m.Complete(ctx, b.Lease, idempotency.Outcome{Status: 200}), idempotency.ErrLeaseLost)

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(ctx, &rm))
	require.Len(t, rm.ScopeMetrics, 1)
	assert.Equal(t, "github.com/keel-go/keel/idempotency", rm.ScopeMetrics[0].Scope.Name)
	counts := map[string]map[string]int64{}
	var durations uint64
	for _, met := range rm.ScopeMetrics[0].Metrics {
		switch data := met.Data.(type) {
		case metricdata.Sum[int64]:
			counts[met.Name] = map[string]int64{}
			for _, dp := range data.DataPoints {
				v, _ := dp.Attributes.Value("keel.idempotency.result")
				counts[met.Name][v.AsString()] = dp.Value
			}
		case metricdata.Histogram[float64]:
			assert.Equal(t, "keel.idempotency.store.duration", met.Name)
			assert.Equal(t, "s", met.Unit)
			for _, dp := range data.DataPoints {
				durations += dp.Count
			}
		}
	}
	assert.Equal(t, map[string]int64{"proceed": 1, "conflict": 1, "mismatch": 1, "replay": 1}, counts["keel.idempotency.begins"])
	assert.Equal(t, map[string]int64{"completed": 1, "lease_lost": 1}, counts["keel.idempotency.ends"])
	assert.Equal(t, uint64(6), durations, "four reserves and two completes timed")
}

// replayStore always answers Replay with the outcome it holds, standing for
// a store written to by other code.
type replayStore struct{ out idempotency.Outcome }

func (s replayStore) Reserve(context.Context, idempotency.ReserveRequest) (idempotency.Reservation, error) {
	return idempotency.Reservation{Decision: idempotency.Replay, Outcome: s.out}, nil
}
func (replayStore) Complete(context.Context, idempotency.Lease, idempotency.Outcome) error {
	return nil
}
func (replayStore) Release(context.Context, idempotency.Lease) error { return nil }

func TestMiddlewareRejectsInvalidStoredStatus(t *testing.T) {
	for _, status := range []int{0, 99, 150, 1000} {
		w := post(newMiddleware(t, replayStore{idempotency.Outcome{Status: status}}, idempotency.MiddlewareConfig{}).Wrap(&orders{}), "k", "{}")
		requireProblem(t, w, http.StatusServiceUnavailable, idempotency.CodeStoreUnavailable)
	}
}

func TestMiddlewareRequestBodies(t *testing.T) {
	o := &orders{}
	h := newMiddleware(t, idempotency.NewMemoryStore(), idempotency.MiddlewareConfig{MaxRequestBody: 16}).Wrap(o)
	tests := []struct {
		name   string
		edit   func(*http.Request)
		status int
	}{
		{"declared length", nil, http.StatusCreated},
		{"chunked (length unknown)", func(r *http.Request) { r.ContentLength = -1 }, http.StatusCreated},
		{"chunked over the limit", func(r *http.Request) {
			r.ContentLength = -1
			r.Body = io.NopCloser(strings.NewReader(strings.Repeat("x", 17)))
		}, http.StatusRequestEntityTooLarge},
		{"shorter than declared", func(r *http.Request) { r.ContentLength = 12 }, http.StatusBadRequest},
		{"longer than declared", func(r *http.Request) { r.ContentLength = 2 }, http.StatusBadRequest},
		{"read error", func(r *http.Request) { r.Body = io.NopCloser(iotest.ErrReader(errors.New("connection reset"))) }, http.StatusBadRequest},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := do(h, http.MethodPost, "/orders", fmt.Sprint("key-", i), `{"a":1}`, tc.edit)
			require.Equal(t, tc.status, w.Code, w.Body.String())
			if tc.status == http.StatusBadRequest {
				requireProblem(t, w, http.StatusBadRequest, idempotency.CodeBodyUnreadable)
			}
			if tc.status == http.StatusCreated {
				assert.Equal(t, `{"a":1}`, w.Body.String(), "the handler reads the whole body")
			}
		})
	}
}

func TestMiddlewareFlushingHandlerStreams(t *testing.T) {
	var runs atomic.Int64
	h := newMiddleware(t, idempotency.NewMemoryStore(), idempotency.MiddlewareConfig{}).Wrap(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			runs.Add(1)
			w.Header().Set("Location", "/exports/1")
			_, _ = io.WriteString(w, "part 1;")
			require.NoError(t, http.NewResponseController(w).Flush(), "the capture writer supports Flush")
			_, _ = io.WriteString(w, "part 2")
		}))
	first := post(h, "k", "")
	require.Equal(t, http.StatusOK, first.Code)
	assert.Equal(t, "part 1;part 2", first.Body.String())
	assert.True(t, first.Flushed, "the flush reached the client")

	replay := post(h, "k", "")
	assert.Equal(t, http.StatusOK, replay.Code)
	assert.Equal(t, "/exports/1", replay.Header().Get("Location"))
	assert.Empty(t, replay.Body.String(), "a streamed body is not stored")
	assert.Equal(t, int64(1), runs.Load())
}
