package alert_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/metrics/alert"
)

var sample = alert.Alert{
	Rule: "HighErrorRatio", Severity: alert.SeverityCritical, State: alert.StateFiring,
	Summary: "More than 5% of requests fail", Value: 0.09, Threshold: 0.05,
	ActiveSince: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), FiredAt: time.Date(2026, 3, 1, 10, 2, 0, 0, time.UTC),
}

// receiver answers with the given statuses in turn (the last repeats) and
// keeps the bodies.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	bodies   [][]byte
	auth     []string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bodies = append(r.bodies, body)
	r.auth = append(r.auth, req.Header.Get("Authorization"))
	status := r.statuses[min(len(r.bodies), len(r.statuses))-1]
	w.WriteHeader(status)
}

func (r *receiver) attempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

func TestWebhookRetriesThenDelivers(t *testing.T) {
	rcv := &receiver{statuses: []int{503, 429, 204}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	wh, err := alert.NewWebhook(alert.WebhookConfig{URL: srv.URL + "/hook?token=s3cret", Backoff: time.Millisecond,
		Header: http.Header{"Authorization": {"Bearer abc"}}})
	require.NoError(t, err)
	require.NoError(t, wh.Notify(context.Background(), sample))
	assert.Equal(t, 3, rcv.attempts())
	assert.Equal(t, []string{"Bearer abc", "Bearer abc", "Bearer abc"}, rcv.auth)

	var payload map[string]any
	require.NoError(t, json.Unmarshal(rcv.bodies[2], &payload))
	assert.Equal(t, map[string]any{
		"version": "1", "status": "firing",
		"alert": map[string]any{
			"rule": "HighErrorRatio", "severity": "critical", "summary": "More than 5% of requests fail",
			"value": 0.09, "threshold": 0.05,
			"activeSince": "2026-03-01T10:00:00Z", "firedAt": "2026-03-01T10:02:00Z",
		},
	}, payload)
}

func TestWebhookGivesUpWithoutLeakingTheURL(t *testing.T) {
	for _, tc := range []struct {
		name     string
		statuses []int
		attempts int
		want     string
	}{
		{"server errors exhaust the attempts", []int{500}, 3, "alert: webhook attempt 3/3: status 500"},
		{"a client error is not retried", []int{400}, 1, "alert: webhook attempt 1/3: status 400 (not retried)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := &receiver{statuses: tc.statuses}
			srv := httptest.NewServer(rcv)
			defer srv.Close()
			wh, err := alert.NewWebhook(alert.WebhookConfig{URL: srv.URL + "/hook?token=s3cret", Backoff: time.Millisecond})
			require.NoError(t, err)
			err = wh.Notify(context.Background(), sample)
			assert.EqualError(t, err, tc.want)
			assert.Equal(t, tc.attempts, rcv.attempts())
		})
	}

	// A refused connection: the error must not repeat the URL's token.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/hook?token=s3cret"
	srv.Close()
	wh, err := alert.NewWebhook(alert.WebhookConfig{URL: url, Backoff: time.Millisecond, MaxAttempts: 2})
	require.NoError(t, err)
	err = wh.Notify(context.Background(), sample)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "alert: webhook attempt 2/2: ")
	assert.NotContains(t, err.Error(), "s3cret")
}

// roundTripper lets a synctest bubble drive the webhook's timing without a
// socket (network I/O is not something a bubble can wait on).
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestWebhookAttemptTimeoutAndBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		var times []time.Duration
		start := time.Now()
		hang := roundTripper(func(r *http.Request) (*http.Response, error) {
			calls.Add(1)
			times = append(times, time.Since(start))
			<-r.Context().Done() // a receiver that never answers
			return nil, r.Context().Err()
		})
		wh, err := alert.NewWebhook(alert.WebhookConfig{URL: "https://hooks.example/x", Client: &http.Client{Transport: hang},
			Timeout: 2 * time.Second, MaxAttempts: 3, Backoff: time.Second})
		require.NoError(t, err)
		err = wh.Notify(context.Background(), sample)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.EqualValues(t, 3, calls.Load())
		// Each attempt waits its 2 s timeout; backoffs are jittered in [0,1s] then [0,2s].
		require.Len(t, times, 3)
		assert.GreaterOrEqual(t, times[1], 2*time.Second)
		assert.LessOrEqual(t, times[1], 3*time.Second)
		assert.GreaterOrEqual(t, times[2], times[1]+2*time.Second)
		assert.LessOrEqual(t, times[2], times[1]+4*time.Second)
	})
}

func TestWebhookHonoursRetryAfterAndCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var times []time.Duration
		start := time.Now()
		busy := roundTripper(func(r *http.Request) (*http.Response, error) {
			times = append(times, time.Since(start))
			return &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"7"}},
				Body: io.NopCloser(strings.NewReader(""))}, nil
		})
		wh, err := alert.NewWebhook(alert.WebhookConfig{URL: "https://hooks.example/x", Client: &http.Client{Transport: busy},
			MaxAttempts: 5})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = wh.Notify(ctx, sample)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, []time.Duration{0, 7 * time.Second}, times, "waits Retry-After, stops when ctx ends")
		assert.Equal(t, 10*time.Second, time.Since(start))
	})
}

// Retry-After is honoured as an HTTP date too, is a floor for the wait and
// is capped by MaxBackoff; junk leaves the jittered backoff.
func TestWebhookRetryAfterForms(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value func(now time.Time) string
		want  time.Duration // 0: the backoff alone, at most 100 ms
	}{
		{"delta-seconds", func(time.Time) string { return "7" }, 7 * time.Second},
		{"HTTP date", func(now time.Time) string { return now.Add(9 * time.Second).UTC().Format(http.TimeFormat) }, 9 * time.Second},
		{"capped by MaxBackoff", func(time.Time) string { return "3600" }, 20 * time.Second},
		{"a date in the past", func(now time.Time) string { return now.Add(-time.Hour).UTC().Format(http.TimeFormat) }, 0},
		{"junk", func(time.Time) string { return "soon" }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var times []time.Time
				once := roundTripper(func(r *http.Request) (*http.Response, error) {
					times = append(times, time.Now())
					status := http.StatusOK
					if len(times) == 1 {
						status = http.StatusServiceUnavailable
					}
					return &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {tc.value(time.Now())}},
						Body: io.NopCloser(strings.NewReader(""))}, nil
				})
				wh, err := alert.NewWebhook(alert.WebhookConfig{URL: "https://hooks.example/x", Client: &http.Client{Transport: once},
					Backoff: 100 * time.Millisecond, MaxBackoff: 20 * time.Second})
				require.NoError(t, err)
				require.NoError(t, wh.Notify(context.Background(), sample))
				require.Len(t, times, 2)
				gap := times[1].Sub(times[0])
				if tc.want == 0 {
					assert.LessOrEqual(t, gap, 100*time.Millisecond)
					return
				}
				assert.Equal(t, tc.want, gap)
			})
		})
	}
}

func TestWebhookConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		cfg  alert.WebhookConfig
		want string
	}{
		{alert.WebhookConfig{URL: "ftp://x/y?token=s3cret"}, "alert: WebhookConfig.URL must be an absolute http or https URL"},
		{alert.WebhookConfig{URL: "/relative"}, "alert: WebhookConfig.URL must be an absolute http or https URL"},
		{alert.WebhookConfig{URL: "https://x", Timeout: -1}, "alert: WebhookConfig.Timeout must be >= 0, got -1ns"},
		{alert.WebhookConfig{URL: "https://x", MaxAttempts: -1}, "alert: WebhookConfig.MaxAttempts must be >= 0, got -1"},
		{alert.WebhookConfig{URL: "https://x", MaxBackoff: -1}, "alert: WebhookConfig.MaxBackoff must be >= 0, got -1ns"},
		{alert.WebhookConfig{URL: "https://x", Backoff: -1}, "alert: WebhookConfig.Backoff must be >= 0, got -1ns"},
	} {
		_, err := alert.NewWebhook(tc.cfg)
		assert.EqualError(t, err, tc.want)
	}
}

func TestWebhookNoDataValueIsNull(t *testing.T) {
	rcv := &receiver{statuses: []int{200}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	wh, err := alert.NewWebhook(alert.WebhookConfig{URL: srv.URL})
	require.NoError(t, err)
	resolved := sample
	resolved.State, resolved.Value, resolved.ResolvedAt = alert.StateResolved, math.NaN(), sample.FiredAt.Add(time.Hour)
	require.NoError(t, wh.Notify(context.Background(), resolved))
	var payload struct {
		Status string
		Alert  map[string]any
	}
	require.NoError(t, json.Unmarshal(rcv.bodies[0], &payload))
	assert.Equal(t, "resolved", payload.Status)
	assert.Nil(t, payload.Alert["value"])
	assert.Contains(t, payload.Alert, "value")
	assert.Equal(t, "2026-03-01T11:02:00Z", payload.Alert["resolvedAt"])
}

func TestSlogNotifierLevels(t *testing.T) {
	var buf bytes.Buffer
	n := alert.SlogNotifier{Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))}
	warn := sample
	warn.Severity = alert.SeverityWarning
	resolved := sample
	resolved.State = alert.StateResolved
	for _, a := range []alert.Alert{sample, warn, resolved} {
		require.NoError(t, n.Notify(context.Background(), a))
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 3)
	assert.True(t, strings.HasPrefix(lines[0], `level=ERROR msg="alert: HighErrorRatio firing" rule=HighErrorRatio severity=critical`), lines[0])
	assert.True(t, strings.HasPrefix(lines[1], `level=WARN msg="alert: HighErrorRatio firing"`), lines[1])
	assert.True(t, strings.HasPrefix(lines[2], `level=INFO msg="alert: HighErrorRatio resolved"`), lines[2])
	assert.NoError(t, alert.SlogNotifier{}.Notify(context.Background(), sample), "a nil logger is silent")
}

// failingNotifier always fails; the evaluator must carry on.
type failingNotifier struct{ calls atomic.Int64 }

func (f *failingNotifier) Notify(context.Context, alert.Alert) error {
	f.calls.Add(1)
	return errors.New("receiver down")
}

func TestNotifierFailureDoesNotStopOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		syn := newSynthetic(t)
		bad, rec := &failingNotifier{}, &recorder{}
		var logs bytes.Buffer
		newEvaluator(t, alert.Config{Source: syn.reader, Notifiers: []alert.Notifier{bad, rec},
			Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			Rules:  []alert.Rule{{Name: "Big", Condition: alert.Threshold{Metric: "size", Value: 1}}}})
		g, err := syn.provider.Meter("test").Float64Gauge("size")
		require.NoError(t, err)
		g.Record(context.Background(), 2)
		time.Sleep(alert.DefaultInterval)
		synctest.Wait()
		assert.EqualValues(t, 1, bad.calls.Load())
		assert.Len(t, rec.got(), 1)
		assert.Contains(t, logs.String(), "alert: notification failed")
		assert.Contains(t, logs.String(), "receiver down")
	})
}
