package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keel-go/keel/audit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func TestSlogNotifierLogsAtWarn(t *testing.T) {
	var buf bytes.Buffer
	n := SlogNotifier{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	require.NoError(t, n.Notify(context.Background(), Finding{Rule: "new_ip", ActorID: "ann", Count: 1, Detail: "first activity from 192.0.2.7"}))
	var line map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line))
	assert.Equal(t, "WARN", line["level"])
	assert.Equal(t, "new_ip", line["rule"])
	assert.Equal(t, "ann", line["actor"])
	assert.Equal(t, "first activity from 192.0.2.7", line["detail"])
	assert.NoError(t, SlogNotifier{}.Notify(context.Background(), Finding{Rule: "r"}), "a nil Logger logs nothing and does not fail")
}

func TestConfigAndRuleValidation(t *testing.T) {
	n := SlogNotifier{}
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{Rules: []Rule{nil}, Notifiers: []Notifier{n}}, "detect: Config.Rules[0] is nil"},
		{Config{Rules: []Rule{&NewIP{}}, Notifiers: []Notifier{n, nil}}, "detect: Config.Notifiers[1] is nil"},
		{Config{Rules: []Rule{&NewIP{}}, Notifiers: []Notifier{n}, QueueSize: -1}, "detect: Config.QueueSize must not be negative, got -1"},
		{Config{Rules: []Rule{&NewIP{}}, Notifiers: []Notifier{n}, NotifyTimeout: -time.Second}, "detect: Config.NotifyTimeout must not be negative, got -1s"},
		{Config{Rules: []Rule{&NewIP{MaxIPsPerActor: -1}}, Notifiers: []Notifier{n}}, "detect: Config.Rules[0]: NewIP: MaxActors and MaxIPsPerActor must not be negative"},
		{Config{Rules: []Rule{&BulkRead{Actions: []string{"read"}, Threshold: -1}}, Notifiers: []Notifier{n}}, "detect: Config.Rules[0]: BulkRead: Threshold, Window and MaxActors must not be negative"},
		{Config{Rules: []Rule{&NewIP{}, &OutsideHours{End: 25}}, Notifiers: []Notifier{n}}, "detect: Config.Rules[1]: OutsideHours.Start must be in [0,23] and End in [0,24], got 0 and 25"},
	} {
		_, err := New(tt.cfg)
		assert.EqualError(t, err, tt.want)
	}
}

func TestWebhookConfigValidation(t *testing.T) {
	for _, tt := range []struct {
		cfg  WebhookConfig
		want string
	}{
		{WebhookConfig{URL: "ftp://hooks.example/x?token=s3cret"}, "detect: WebhookConfig.URL must be an absolute http or https URL"},
		{WebhookConfig{URL: "/relative"}, "detect: WebhookConfig.URL must be an absolute http or https URL"},
		{WebhookConfig{URL: "https://x", Timeout: -1}, "detect: WebhookConfig.Timeout must be >= 0, got -1ns"},
		{WebhookConfig{URL: "https://x", MaxAttempts: -1}, "detect: WebhookConfig.MaxAttempts must be >= 0, got -1"},
		{WebhookConfig{URL: "https://x", Backoff: -1}, "detect: WebhookConfig.Backoff must be >= 0, got -1ns"},
		{WebhookConfig{URL: "https://x", MaxBackoff: -1}, "detect: WebhookConfig.MaxBackoff must be >= 0, got -1ns"},
	} {
		_, err := NewWebhook(tt.cfg)
		assert.EqualError(t, err, tt.want)
	}
	wh, err := NewWebhook(WebhookConfig{URL: "https://x"})
	require.NoError(t, err)
	assert.Equal(t, WebhookConfig{URL: "https://x", Timeout: 5 * time.Second, MaxAttempts: 3, Backoff: 500 * time.Millisecond,
		MaxBackoff: 30 * time.Second}, wh.cfg, "the documented defaults")
}

// A transport error is retried, and the error keeps its cause but not the
// URL, which may hold a token.
func TestWebhookTransportErrorHidesTheURL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		down := roundTripperFunc(func(*http.Request) (*http.Response, error) { calls++; return nil, errConnRefused })
		wh, err := NewWebhook(WebhookConfig{URL: "https://hooks.example/x?token=t0ken", Client: &http.Client{Transport: down}})
		require.NoError(t, err)
		err = wh.Notify(context.Background(), Finding{Rule: "r"})
		require.ErrorIs(t, err, ErrWebhook)
		assert.Equal(t, 3, calls, "MaxAttempts defaults to 3")
		assert.Contains(t, err.Error(), "connection refused")
		assert.NotContains(t, err.Error(), "t0ken")
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type connRefused struct{}

func (connRefused) Error() string { return "connection refused" }

var errConnRefused error = connRefused{}

// A finding that finds the delivery queue full is dropped and counted, and
// Observe does not block on the slow notifier.
func TestFullQueueDropsAndCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		release := make(chan struct{})
		var delivered []string
		slow := NotifierFunc(func(_ context.Context, f Finding) error {
			<-release
			delivered = append(delivered, f.ActorID)
			return nil
		})
		det, err := New(Config{Rules: []Rule{&BruteForce{Failures: 1}}, Notifiers: []Notifier{slow}, QueueSize: 1, MeterProvider: mp})
		require.NoError(t, err)
		login := func(actor string) audit.Event {
			return audit.Event{Actor: audit.Actor{ID: actor}, Action: "login", Outcome: audit.Failure}
		}
		det.Observe(login("a"))
		synctest.Wait() // the delivery goroutine holds a's finding, blocked in the notifier
		det.Observe(login("b"))
		det.Observe(login("c")) // the queue (1) holds b: c is dropped
		close(release)
		require.NoError(t, det.Close())
		assert.Equal(t, []string{"a", "b"}, delivered)
		var rm metricdata.ResourceMetrics
		require.NoError(t, reader.Collect(context.Background(), &rm))
		dropped := int64(0)
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name == "keel.audit.findings.dropped" {
					for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
						dropped += dp.Value
					}
				}
			}
		}
		assert.Equal(t, int64(1), dropped)
		require.NoError(t, mp.Shutdown(context.Background()))
	})
}

// Memory stays bounded under a flood of actors: a window forgets idle
// actors first, then arbitrary ones, and never holds more than MaxActors.
func TestWindowEvictionBoundsActors(t *testing.T) {
	r := &BruteForce{Failures: 3, Window: time.Minute, MaxActors: 2}
	at := func(actor string, d time.Duration) audit.Event {
		return audit.Event{Time: monday9.Add(d), Actor: audit.Actor{ID: actor}, Action: "login", Outcome: audit.Failure}
	}
	r.Observe(at("ann", 0))
	r.Observe(at("bob", time.Second))
	r.Observe(at("cid", 2*time.Minute)) // ann and bob are idle: both forgotten
	assert.Len(t, r.w.entries, 1)
	r.Observe(at("dan", 2*time.Minute))
	r.Observe(at("eve", 2*time.Minute)) // all active: one is forgotten
	assert.LessOrEqual(t, len(r.w.entries), 2)
	for i := range 1000 {
		r.Observe(at(strings.Repeat("x", i%50)+"-flood", 2*time.Minute))
	}
	assert.LessOrEqual(t, len(r.w.entries), 2, "a flood of new actors does not grow the memory")
}

// BulkRead's count field is read from hostile metadata: only a
// non-negative, exact count counts; anything else counts as one event.
func TestBulkReadCountField(t *testing.T) {
	for _, tt := range []struct {
		name  string
		value any
		found bool
	}{
		{"int", 150, true},
		{"int64", int64(150), true},
		{"float64 from JSON", float64(150), true},
		{"json.Number", json.Number("150"), true},
		{"negative", -150, false},
		{"huge float", 1e300, false},
		{"NaN", math.NaN(), false},
		{"not a number", json.Number("1e400"), false},
		{"a string", "150", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &BulkRead{Actions: []string{"customer.export"}, Threshold: 100, CountField: "rows"}
			_, found := r.Observe(audit.Event{Time: monday9, Actor: audit.Actor{ID: "eve"}, Action: "customer.export",
				Outcome: audit.Success, Metadata: map[string]any{"rows": tt.value}})
			assert.Equal(t, tt.found, found)
		})
	}
}
