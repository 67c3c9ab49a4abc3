package alert

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// WebhookConfig configures [NewWebhook].
type WebhookConfig struct {
	// URL receives a POST per notification; http or https. It may carry a
	// token: it never appears in errors or logs.
	URL string
	// Header is added to every request (Authorization …); never logged.
	Header http.Header
	// Client sends the requests. Nil means a client of its own with no
	// overall timeout (each attempt is bounded by Timeout).
	Client *http.Client
	// Timeout bounds one attempt. Zero means 5 s.
	Timeout time.Duration
	// MaxAttempts is the number of tries, the first included. Zero means 3.
	MaxAttempts int
	// Backoff is the wait before the second attempt; it doubles after each
	// attempt, with full jitter. A Retry-After header on a retried answer
	// (delta-seconds or an HTTP date) is a floor for the wait. Zero means
	// 500 ms.
	Backoff time.Duration
	// MaxBackoff caps every wait, a Retry-After included. Zero means 30 s.
	MaxBackoff time.Duration
}

// Webhook posts alerts as JSON:
//
//	{"version":"1","status":"firing","alert":{"rule":"HighErrorRatio","severity":"critical",
//	 "summary":"…","value":0.09,"threshold":0.05,"activeSince":"…","firedAt":"…"}}
//
// A 2xx answer is success. Network errors, timeouts, 429 and 5xx are
// retried up to MaxAttempts; other answers fail at once.
type Webhook struct {
	cfg    WebhookConfig
	client *http.Client
}

// NewWebhook validates cfg.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL itself is not echoed: it may hold a token.
		return nil, errors.New("alert: WebhookConfig.URL must be an absolute http or https URL")
	}
	switch {
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("alert: WebhookConfig.Timeout must be >= 0, got %v", cfg.Timeout)
	case cfg.MaxAttempts < 0:
		return nil, fmt.Errorf("alert: WebhookConfig.MaxAttempts must be >= 0, got %d", cfg.MaxAttempts)
	case cfg.Backoff < 0:
		return nil, fmt.Errorf("alert: WebhookConfig.Backoff must be >= 0, got %v", cfg.Backoff)
	case cfg.MaxBackoff < 0:
		return nil, fmt.Errorf("alert: WebhookConfig.MaxBackoff must be >= 0, got %v", cfg.MaxBackoff)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{}
	}
	return &Webhook{cfg: cfg, client: client}, nil
}

type webhookPayload struct {
	Version string       `json:"version"`
	Status  State        `json:"status"`
	Alert   webhookAlert `json:"alert"`
}

type webhookAlert struct {
	Rule        string     `json:"rule"`
	Severity    Severity   `json:"severity"`
	Summary     string     `json:"summary,omitempty"`
	Value       *float64   `json:"value"`
	Threshold   float64    `json:"threshold"`
	ActiveSince time.Time  `json:"activeSince"`
	FiredAt     *time.Time `json:"firedAt,omitempty"`
	ResolvedAt  *time.Time `json:"resolvedAt,omitempty"`
}

func payloadOf(a Alert) ([]byte, error) {
	p := webhookPayload{Version: "1", Status: a.State, Alert: webhookAlert{
		Rule: a.Rule, Severity: a.Severity, Summary: a.Summary, Threshold: a.Threshold, ActiveSince: a.ActiveSince.UTC(),
	}}
	if finite(a.Value) { // JSON has no NaN: no data is null
		v := a.Value
		p.Alert.Value = &v
	}
	if !a.FiredAt.IsZero() {
		t := a.FiredAt.UTC()
		p.Alert.FiredAt = &t
	}
	if !a.ResolvedAt.IsZero() {
		t := a.ResolvedAt.UTC()
		p.Alert.ResolvedAt = &t
	}
	return json.Marshal(p)
}

// Notify posts a, retrying as configured. It returns ctx's error at once
// when ctx ends.
func (w *Webhook) Notify(ctx context.Context, a Alert) error {
	body, err := payloadOf(a)
	if err != nil {
		return fmt.Errorf("alert: webhook payload: %w", err)
	}
	backoff := w.cfg.Backoff
	var last error
	for attempt := 1; ; attempt++ {
		retryAfter, err := w.post(ctx, body)
		if err == nil {
			return nil
		}
		last = fmt.Errorf("alert: webhook attempt %d/%d: %w", attempt, w.cfg.MaxAttempts, err)
		var perm permanentError
		if errors.As(err, &perm) || attempt >= w.cfg.MaxAttempts || ctx.Err() != nil {
			return last
		}
		// Retry-After is a floor for the wait, and MaxBackoff its cap.
		wait := min(max(jitter(backoff), retryAfter), w.cfg.MaxBackoff)
		backoff = min(2*backoff, w.cfg.MaxBackoff)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return errors.Join(last, ctx.Err())
		case <-timer.C:
		}
	}
}

// permanentError is an answer that retrying will not change.
type permanentError struct{ status int }

func (e permanentError) Error() string { return "status " + strconv.Itoa(e.status) + " (not retried)" }

// post makes one attempt. It returns the server's Retry-After, if any.
func (w *Webhook) post(ctx context.Context, body []byte) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("building request failed")
	}
	for k, vs := range w.cfg.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // *url.Error repeats the URL, which may hold a token
		}
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return 0, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return retryAfter(resp.Header.Get("Retry-After"), time.Now()), fmt.Errorf("status %d", resp.StatusCode)
	default:
		return 0, permanentError{resp.StatusCode}
	}
}

// retryAfter decodes a Retry-After value, delta-seconds or an HTTP date
// (RFC 9110 §10.2.3), as the wait it asks for from now; 0 for a date in the
// past, an empty or a malformed value. Large values saturate: the caller
// caps the wait. retry.ParseRetryAfter is the reference; this copy keeps
// the package independent of retry.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if strings.Trim(v, "0123456789") == "" {
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil || secs > uint64(math.MaxInt64/int64(time.Second)) {
			return math.MaxInt64 // all digits: only overflow reaches here
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return max(t.Sub(now), 0)
}

// jitter draws uniformly from [0, d] ("full jitter"), from crypto/rand.
func jitter(d time.Duration) time.Duration {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil || d <= 0 {
		return d
	}
	return time.Duration(binary.LittleEndian.Uint64(b[:]) % uint64(d+1))
}
