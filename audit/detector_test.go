package audit

import (
	"context"
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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var monday9 = time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC) // a Monday

func ev(actor, ip, action string, outcome Outcome, at time.Duration) Event {
	return Event{Time: monday9.Add(at), Actor: Actor{ID: actor, IP: ip}, Action: action, Outcome: outcome}
}

func TestRules(t *testing.T) {
	tests := []struct {
		name   string
		rule   Rule
		events []Event
		want   []string // "rule actor count" of each finding, in order
	}{
		{"brute force within the window", &BruteForce{Failures: 3, Window: time.Minute}, []Event{
			ev("ann", "", "login", Failure, 0),
			ev("ann", "", "login", Denied, 10*time.Second),
			ev("bob", "", "login", Failure, 15*time.Second),
			ev("ann", "", "login", Success, 20*time.Second),
			ev("ann", "", "login", Failure, 30*time.Second),
			ev("ann", "", "login", Failure, 31*time.Second), // counting restarted after the finding
		}, []string{"brute_force ann 3"}},
		{"brute force failures spread beyond the window", &BruteForce{Failures: 3, Window: time.Minute}, []Event{
			ev("ann", "", "login", Failure, 0),
			ev("ann", "", "login", Failure, 50*time.Second),
			ev("ann", "", "login", Failure, 61*time.Second),
		}, nil},
		{"brute force keyed by IP when there is no actor id", &BruteForce{Failures: 2}, []Event{
			ev("", "10.0.0.9", "login", Failure, 0),
			ev("", "10.0.0.9", "login", Failure, time.Second),
		}, []string{"brute_force ip:10.0.0.9 2"}},
		{"bulk read over the threshold", &BulkRead{Actions: []string{"customer.read"}, Threshold: 3, Window: time.Minute}, []Event{
			ev("eve", "", "customer.read", Success, 0),
			ev("eve", "", "customer.read", Success, time.Second),
			ev("eve", "", "customer.update", Success, 2*time.Second),
			ev("eve", "", "customer.read", Success, 3*time.Second),
			ev("eve", "", "customer.read", Success, 4*time.Second),
		}, []string{"bulk_read eve 4"}},
		{"bulk export counted by a metadata field", &BulkRead{Actions: []string{"customer.export"}, Threshold: 1000, CountField: "rows"}, []Event{
			func() Event {
				e := ev("eve", "", "customer.export", Success, 0)
				e.Metadata = map[string]any{"rows": json.Number("5000")}
				return e
			}(),
		}, []string{"bulk_read eve 5000"}},
		{"outside hours and weekends", &OutsideHours{Start: 8, End: 18}, []Event{
			ev("ann", "", "order.create", Success, 0),                        // Monday 09:00
			ev("ann", "", "order.create", Success, 10*time.Hour),             // Monday 19:00
			ev("bob", "", "order.create", Success, 5*24*time.Hour),           // Saturday 09:00
			ev("cid", "", "order.create", Success, 24*time.Hour-2*time.Hour), // Tuesday 07:00
		}, []string{"outside_hours ann 1", "outside_hours bob 1", "outside_hours cid 1"}},
		{"outside hours across midnight", &OutsideHours{Start: 22, End: 6, Weekdays: []time.Weekday{time.Monday, time.Tuesday}}, []Event{
			ev("ops", "", "backup.run", Success, 14*time.Hour), // Monday 23:00: allowed
			ev("ops", "", "backup.run", Success, 0),            // Monday 09:00: not
		}, []string{"outside_hours ops 1"}},
		{"new ip after the first one is learnt", &NewIP{}, []Event{
			ev("ann", "10.0.0.1", "login", Success, 0),
			ev("ann", "10.0.0.1", "login", Success, time.Minute),
			ev("ann", "192.0.2.7", "login", Success, 2*time.Minute),
			ev("ann", "192.0.2.7", "login", Success, 3*time.Minute),
			ev("bob", "192.0.2.7", "login", Success, 4*time.Minute),
		}, []string{"new_ip ann 1"}},
		{"new ip memory is bounded", &NewIP{MaxActors: 1, MaxIPsPerActor: 1}, []Event{
			ev("ann", "10.0.0.1", "login", Success, 0),
			ev("bob", "10.0.0.2", "login", Success, 0), // evicts ann
			ev("ann", "10.0.0.3", "login", Success, 0), // learnt again, no finding
			ev("ann", "10.0.0.4", "login", Success, 0),
			ev("ann", "10.0.0.3", "login", Success, 0), // forgotten: only one IP kept
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
	det, err := NewDetector(DetectorConfig{
		Rules: []Rule{&BruteForce{Failures: 2}},
		Notifiers: []Notifier{NotifierFunc(func(_ context.Context, f Finding) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, f)
			return nil
		}), NotifierFunc(func(context.Context, Finding) error { return errors.New("second notifier down") })},
	})
	require.NoError(t, err)
	l, _ := newFileLogger(t, t.TempDir(), func(c *Config, _ *FileSinkConfig) { c.Detector = det })
	for range 2 {
		require.NoError(t, l.Log(context.Background(), Event{Actor: Actor{ID: "mallory"}, Action: "login", Outcome: Denied}))
	}
	require.NoError(t, l.Close())
	require.NoError(t, det.Close()) // delivers what is queued
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 1, "a failing notifier does not stop the others")
	assert.Equal(t, "brute_force", got[0].Rule)
	assert.Equal(t, "mallory", got[0].ActorID)
}

func TestNewDetectorValidates(t *testing.T) {
	n := SlogNotifier(nil)
	for _, tt := range []struct {
		cfg  DetectorConfig
		want string
	}{
		{DetectorConfig{Notifiers: []Notifier{n}}, "Rules"},
		{DetectorConfig{Rules: []Rule{&NewIP{}}}, "Notifiers"},
		{DetectorConfig{Rules: []Rule{&BulkRead{}}, Notifiers: []Notifier{n}}, "BulkRead.Actions"},
		{DetectorConfig{Rules: []Rule{&OutsideHours{Start: 30}}, Notifiers: []Notifier{n}}, "OutsideHours.Start"},
		{DetectorConfig{Rules: []Rule{&BruteForce{Failures: -1}}, Notifiers: []Notifier{n}}, "BruteForce"},
	} {
		_, err := NewDetector(tt.cfg)
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
	wh, err := NewWebhookNotifier(WebhookConfig{URL: srv.URL + "/hook?token=t0ken", InitialBackoff: time.Millisecond,
		Header: http.Header{"Authorization": {"Bearer s3cret"}}})
	require.NoError(t, err)
	f, _ := (&BruteForce{Failures: 1}).Observe(ev("ann", "10.1.1.1", "login", Failure, 0))
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
	n     int
	times []time.Time
	retry string
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
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

func TestWebhookBackoffTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &flakyTransport{n: 4}
		wh, err := NewWebhookNotifier(WebhookConfig{URL: "https://hooks.example/x", Client: &http.Client{Transport: tr},
			InitialBackoff: time.Second, MaxBackoff: 3 * time.Second, MaxAttempts: 5})
		require.NoError(t, err)
		require.NoError(t, wh.Notify(context.Background(), Finding{Rule: "r"}))
		require.Len(t, tr.times, 5)
		// Waits are jittered within [d/2, d] of 1s, 2s, 3s (capped), 3s.
		for i, d := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second} {
			gap := tr.times[i+1].Sub(tr.times[i])
			assert.GreaterOrEqual(t, gap, d/2, "wait %d", i)
			assert.LessOrEqual(t, gap, d, "wait %d", i)
		}

		tr = &flakyTransport{n: 10, retry: "2"}
		wh, err = NewWebhookNotifier(WebhookConfig{URL: "https://hooks.example/x", Client: &http.Client{Transport: tr}, MaxAttempts: 3})
		require.NoError(t, err)
		require.ErrorIs(t, wh.Notify(context.Background(), Finding{Rule: "r"}), ErrWebhook)
		require.Len(t, tr.times, 3, "gives up after MaxAttempts")
		assert.Equal(t, 2*time.Second, tr.times[1].Sub(tr.times[0]), "Retry-After is honoured")

		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		tr = &flakyTransport{n: 10, retry: "2"}
		wh, err = NewWebhookNotifier(WebhookConfig{URL: "https://hooks.example/x", Client: &http.Client{Transport: tr}})
		require.NoError(t, err)
		require.ErrorIs(t, wh.Notify(ctx, Finding{Rule: "r"}), context.DeadlineExceeded)
	})
}
