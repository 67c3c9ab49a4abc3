package detect

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keel-go/keel/audit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

var monday9 = time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC) // a Monday

func ev(actor, ip, action string, outcome audit.Outcome, at time.Duration) audit.Event {
	return audit.Event{Time: monday9.Add(at), Actor: audit.Actor{ID: actor, IP: ip}, Action: action, Outcome: outcome}
}

func TestRules(t *testing.T) {
	tests := []struct {
		name   string
		rule   Rule
		events []audit.Event
		want   []string // "rule actor count" of each finding, in order
	}{
		{"brute force within the window", &BruteForce{Failures: 3, Window: time.Minute}, []audit.Event{
			ev("ann", "", "login", audit.Failure, 0),
			ev("ann", "", "login", audit.Denied, 10*time.Second),
			ev("bob", "", "login", audit.Failure, 15*time.Second),
			ev("ann", "", "login", audit.Success, 20*time.Second),
			ev("ann", "", "login", audit.Failure, 30*time.Second),
			ev("ann", "", "login", audit.Failure, 31*time.Second), // counting restarted after the finding
		}, []string{"brute_force ann 3"}},
		{"brute force failures spread beyond the window", &BruteForce{Failures: 3, Window: time.Minute}, []audit.Event{
			ev("ann", "", "login", audit.Failure, 0),
			ev("ann", "", "login", audit.Failure, 50*time.Second),
			ev("ann", "", "login", audit.Failure, 61*time.Second),
		}, nil},
		{"brute force keyed by IP when there is no actor id", &BruteForce{Failures: 2}, []audit.Event{
			ev("", "10.0.0.9", "login", audit.Failure, 0),
			ev("", "10.0.0.9", "login", audit.Failure, time.Second),
		}, []string{"brute_force ip:10.0.0.9 2"}},
		{"bulk read over the threshold", &BulkRead{Actions: []string{"customer.read"}, Threshold: 3, Window: time.Minute}, []audit.Event{
			ev("eve", "", "customer.read", audit.Success, 0),
			ev("eve", "", "customer.read", audit.Success, time.Second),
			ev("eve", "", "customer.update", audit.Success, 2*time.Second),
			ev("eve", "", "customer.read", audit.Success, 3*time.Second),
			ev("eve", "", "customer.read", audit.Success, 4*time.Second),
		}, []string{"bulk_read eve 4"}},
		{"bulk export counted by a metadata field", &BulkRead{Actions: []string{"customer.export"}, Threshold: 1000, CountField: "rows"}, []audit.Event{
			func() audit.Event {
				e := ev("eve", "", "customer.export", audit.Success, 0)
				e.Metadata = map[string]any{"rows": json.Number("5000")}
				return e
			}(),
		}, []string{"bulk_read eve 5000"}},
		{"outside hours and weekends", &OutsideHours{Start: 8, End: 18}, []audit.Event{
			ev("ann", "", "order.create", audit.Success, 0),                        // Monday 09:00
			ev("ann", "", "order.create", audit.Success, 10*time.Hour),             // Monday 19:00
			ev("bob", "", "order.create", audit.Success, 5*24*time.Hour),           // Saturday 09:00
			ev("cid", "", "order.create", audit.Success, 24*time.Hour-2*time.Hour), // Tuesday 07:00
		}, []string{"outside_hours ann 1", "outside_hours bob 1", "outside_hours cid 1"}},
		{"outside hours across midnight", &OutsideHours{Start: 22, End: 6, Weekdays: []time.Weekday{time.Monday, time.Tuesday}}, []audit.Event{
			ev("ops", "", "backup.run", audit.Success, 14*time.Hour), // Monday 23:00: allowed
			ev("ops", "", "backup.run", audit.Success, 0),            // Monday 09:00: not
		}, []string{"outside_hours ops 1"}},
		{"new ip after the first one is learnt", &NewIP{}, []audit.Event{
			ev("ann", "10.0.0.1", "login", audit.Success, 0),
			ev("ann", "10.0.0.1", "login", audit.Success, time.Minute),
			ev("ann", "192.0.2.7", "login", audit.Success, 2*time.Minute),
			ev("ann", "192.0.2.7", "login", audit.Success, 3*time.Minute),
			ev("bob", "192.0.2.7", "login", audit.Success, 4*time.Minute),
		}, []string{"new_ip ann 1"}},
		{"new ip memory is bounded", &NewIP{MaxActors: 1, MaxIPsPerActor: 1}, []audit.Event{
			ev("ann", "10.0.0.1", "login", audit.Success, 0),
			ev("bob", "10.0.0.2", "login", audit.Success, 0), // evicts ann
			ev("ann", "10.0.0.3", "login", audit.Success, 0), // learnt again, no finding
			ev("ann", "10.0.0.4", "login", audit.Success, 0),
			ev("ann", "10.0.0.3", "login", audit.Success, 0), // forgotten: only one IP kept
		}, []string{"new_ip ann 1", "new_ip ann 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range tt.events {
				if f, ok := tt.rule.Observe(e); ok {
					got = append(got, strings.Join([]string{f.Rule, f.ActorID, strconv.Itoa(f.Count)}, " "))
					assert.NotEmpty(t, f.Detail)
				}
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestLoggerFeedsDetectorAndNotifiers(t *testing.T) {
	var mu sync.Mutex
	var got []Finding
	det, err := New(Config{
		Rules: []Rule{&BruteForce{Failures: 2}},
		Notifiers: []Notifier{NotifierFunc(func(_ context.Context, f Finding) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, f)
			return nil
		}), NotifierFunc(func(context.Context, Finding) error { return errors.New("second notifier down") })},
	})
	require.NoError(t, err)
	sink, err := audit.NewFileSink(audit.FileSinkConfig{Dir: t.TempDir()})
	require.NoError(t, err)
	_, key, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	l, err := audit.New(audit.Config{Sinks: []audit.Sink{sink}, SigningKey: key, Observer: det})
	require.NoError(t, err)
	for range 2 {
		require.NoError(t, l.Log(context.Background(), audit.Event{Actor: audit.Actor{ID: "mallory"}, Action: "login", Outcome: audit.Denied}))
	}
	require.NoError(t, l.Close())
	require.NoError(t, det.Close()) // delivers what is queued
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 1, "a failing notifier does not stop the others")
	assert.Equal(t, "brute_force", got[0].Rule)
	assert.Equal(t, "mallory", got[0].ActorID)
}

func TestNewValidates(t *testing.T) {
	n := SlogNotifier{}
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{Notifiers: []Notifier{n}}, "Rules"},
		{Config{Rules: []Rule{&NewIP{}}}, "Notifiers"},
		{Config{Rules: []Rule{&BulkRead{}}, Notifiers: []Notifier{n}}, "BulkRead.Actions"},
		{Config{Rules: []Rule{&OutsideHours{Start: 30}}, Notifiers: []Notifier{n}}, "OutsideHours.Start"},
		{Config{Rules: []Rule{&BruteForce{Failures: -1}}, Notifiers: []Notifier{n}}, "BruteForce"},
	} {
		_, err := New(tt.cfg)
		assert.ErrorContains(t, err, tt.want)
	}
}

func TestWebhookRetriesThenDelivers(t *testing.T) {
	var calls atomic.Int32
	var body webhookBody
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		assert.Equal(t, "Bearer s3cret", r.Header.Get("Authorization"))
		data, _ := io.ReadAll(r.Body)
		assert.NoError(t, json.Unmarshal(data, &body))
	}))
	defer srv.Close()
	wh, err := NewWebhook(WebhookConfig{URL: srv.URL + "/hook?token=t0ken", Backoff: time.Millisecond,
		Header: http.Header{"Authorization": {"Bearer s3cret"}}})
	require.NoError(t, err)
	f, _ := (&BruteForce{Failures: 1}).Observe(ev("ann", "10.1.1.1", "login", audit.Failure, 0))
	require.NoError(t, wh.Notify(context.Background(), f))
	assert.Equal(t, int32(3), calls.Load())
	assert.Equal(t, "brute_force", body.Rule)
	assert.Equal(t, "login", body.Action)
	assert.Equal(t, "10.1.1.1", body.IP)

	// A 400 is not retried; errors never show the URL's token.
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadRequest) })
	calls.Store(0)
	err = wh.Notify(context.Background(), f)
	require.ErrorIs(t, err, ErrWebhook)
	assert.Contains(t, err.Error(), "400")
	assert.NotContains(t, err.Error(), "t0ken")
}

// flakyTransport fails the first n round trips with 503 and records when
// each attempt was made.
type flakyTransport struct {
	n       int
	times   []time.Time
	retry   string
	retryAt func(now time.Time) string // when set, the Retry-After value
}

func (f *flakyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.times = append(f.times, time.Now())
	status := http.StatusOK
	if len(f.times) <= f.n {
		status = http.StatusServiceUnavailable
	}
	h := http.Header{}
	if f.retry != "" {
		h.Set("Retry-After", f.retry)
	}
	if f.retryAt != nil {
		h.Set("Retry-After", f.retryAt(time.Now()))
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

func TestWebhookBackoffTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &flakyTransport{n: 4}
		wh, err := NewWebhook(WebhookConfig{URL: "https://hooks.example/x", Client: &http.Client{Transport: tr},
			Backoff: time.Second, MaxBackoff: 3 * time.Second, MaxAttempts: 5})
		require.NoError(t, err)
		require.NoError(t, wh.Notify(context.Background(), Finding{Rule: "r"}))
		require.Len(t, tr.times, 5)
		// Waits are full-jittered within [0, d] of 1s, 2s, 3s (capped), 3s.
		for i, d := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second} {
			gap := tr.times[i+1].Sub(tr.times[i])
			assert.LessOrEqual(t, gap, d, "wait %d", i)
		}

		tr = &flakyTransport{n: 10, retry: "2"}
		wh, err = NewWebhook(WebhookConfig{URL: "https://hooks.example/x", Client: &http.Client{Transport: tr}, MaxAttempts: 3})
		require.NoError(t, err)
		require.ErrorIs(t, wh.Notify(context.Background(), Finding{Rule: "r"}), ErrWebhook)
		require.Len(t, tr.times, 3, "gives up after MaxAttempts")
		assert.GreaterOrEqual(t, tr.times[1].Sub(tr.times[0]), 2*time.Second, "Retry-After is a floor")
		assert.LessOrEqual(t, tr.times[1].Sub(tr.times[0]), 2*time.Second, "the backoff (at most 500 ms) is below it")

		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		tr = &flakyTransport{n: 10, retry: "2"}
		wh, err = NewWebhook(WebhookConfig{URL: "https://hooks.example/x", Client: &http.Client{Transport: tr}})
		require.NoError(t, err)
		require.ErrorIs(t, wh.Notify(ctx, Finding{Rule: "r"}), context.DeadlineExceeded)
	})
}

// Retry-After is honoured in both forms RFC 9110 allows, and capped by
// MaxBackoff; junk is ignored.
func TestWebhookRetryAfterForms(t *testing.T) {
	for _, tt := range []struct {
		name  string
		value func(now time.Time) string
		want  time.Duration
	}{
		{"delta-seconds", func(time.Time) string { return "7" }, 7 * time.Second},
		{"HTTP date", func(now time.Time) string { return now.Add(9 * time.Second).UTC().Format(http.TimeFormat) }, 9 * time.Second},
		{"capped by MaxBackoff", func(time.Time) string { return "3600" }, 20 * time.Second},
		{"a date in the past: the backoff alone", func(now time.Time) string { return now.Add(-time.Hour).UTC().Format(http.TimeFormat) }, 0},
		{"junk: the backoff alone", func(time.Time) string { return "soon" }, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := &flakyTransport{n: 1, retryAt: tt.value}
				wh, err := NewWebhook(WebhookConfig{URL: "https://hooks.example/x", Client: &http.Client{Transport: tr},
					Backoff: 100 * time.Millisecond, MaxBackoff: 20 * time.Second})
				require.NoError(t, err)
				require.NoError(t, wh.Notify(context.Background(), Finding{Rule: "r"}))
				require.Len(t, tr.times, 2)
				gap := tr.times[1].Sub(tr.times[0])
				if tt.want == 0 {
					assert.LessOrEqual(t, gap, 100*time.Millisecond, "the jittered backoff")
					return
				}
				assert.Equal(t, tt.want, gap)
			})
		})
	}
}

// A finding counted in metrics, under the detect scope and the names it had
// in package audit.
func TestFindingsAreCounted(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { require.NoError(t, mp.Shutdown(context.Background())) }()
	det, err := New(Config{Rules: []Rule{&BruteForce{Failures: 1}}, MeterProvider: mp,
		Notifiers: []Notifier{NotifierFunc(func(context.Context, Finding) error { return errors.New("down") })}})
	require.NoError(t, err)
	det.Observe(audit.Event{Actor: audit.Actor{ID: "x"}, Action: "login", Outcome: audit.Failure})
	require.NoError(t, det.Close())
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, "github.com/keel-go/keel/audit/detect", sm.Scope.Name)
		for _, m := range sm.Metrics {
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				got[m.Name] += dp.Value
			}
		}
	}
	assert.Equal(t, map[string]int64{"keel.audit.findings": 1, "keel.audit.notify.errors": 1}, got)
}
