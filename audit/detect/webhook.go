package detect

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

	"github.com/keel-go/keel/audit"
)

// WebhookConfig configures a Webhook. Its fields, defaults and retries are
// those of metrics/alert's (docs/CONVENTIONS.md, "Webhook notifiers").
type WebhookConfig struct {
	// URL receives each finding as a JSON POST; http or https. Required. It
	// may carry a token: it never appears in errors or logs.
	URL string
	// Header is added to every request (Authorization …). Its values never
	// appear in errors or logs.
	Header http.Header
	// Client sends the requests. Nil means a client of its own with no
	// overall timeout (each attempt is bounded by Timeout).
	Client *http.Client
	// Timeout bounds one attempt. Zero means 5 s.
	Timeout time.Duration
	// MaxAttempts is the number of tries, the first included. Zero means 3.
	MaxAttempts int
	// Backoff is the wait before the second attempt; it doubles after each
	// attempt, with full jitter. Zero means 500 ms.
	Backoff time.Duration
	// MaxBackoff caps every wait, a Retry-After included. Zero means 30 s.
	MaxBackoff time.Duration
}

// Webhook POSTs findings as JSON. A 2xx answer is success. Transport
// errors, timeouts, 429 and 5xx are retried up to MaxAttempts, waiting at
// least what a Retry-After asks (in seconds or as an HTTP date); any other
// answer fails at once (the request itself is wrong).
type Webhook struct {
	cfg    WebhookConfig
	client *http.Client
}

// NewWebhook validates cfg.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL itself is not echoed: it may hold a token.
		return nil, errors.New("detect: WebhookConfig.URL must be an absolute http or https URL")
	}
	switch {
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("detect: WebhookConfig.Timeout must be >= 0, got %v", cfg.Timeout)
	case cfg.MaxAttempts < 0:
		return nil, fmt.Errorf("detect: WebhookConfig.MaxAttempts must be >= 0, got %d", cfg.MaxAttempts)
	case cfg.Backoff < 0:
		return nil, fmt.Errorf("detect: WebhookConfig.Backoff must be >= 0, got %v", cfg.Backoff)
	case cfg.MaxBackoff < 0:
		return nil, fmt.Errorf("detect: WebhookConfig.MaxBackoff must be >= 0, got %v", cfg.MaxBackoff)
	}
	cfg.Timeout = orDefaultDuration(cfg.Timeout, 5*time.Second)
	cfg.MaxAttempts = orDefault(cfg.MaxAttempts, 3)
	cfg.Backoff = orDefaultDuration(cfg.Backoff, 500*time.Millisecond)
	cfg.MaxBackoff = orDefaultDuration(cfg.MaxBackoff, 30*time.Second)
	client := cfg.Client
	if client == nil {
		client = &http.Client{}
	}
	return &Webhook{cfg: cfg, client: client}, nil
}

// webhookBody is the JSON a webhook receives.
type webhookBody struct {
	Finding
	Action       string        `json:"action"`
	ResourceType string        `json:"resource_type,omitempty"`
	ResourceID   string        `json:"resource_id,omitempty"`
	Outcome      audit.Outcome `json:"outcome"`
	IP           string        `json:"ip,omitempty"`
	RequestID    string        `json:"request_id,omitempty"`
}

// ErrWebhook is wrapped by Webhook.Notify when every attempt failed.
var ErrWebhook = errors.New("detect: webhook failed")

// Notify POSTs f, retrying as configured, until it succeeds, an answer says
// not to retry, the attempts are used up or ctx ends.
func (w *Webhook) Notify(ctx context.Context, f Finding) error {
	body, err := json.Marshal(webhookBody{Finding: f, Action: f.Event.Action, ResourceType: f.Event.Resource.Type,
		ResourceID: f.Event.Resource.ID, Outcome: f.Event.Outcome, IP: f.Event.Actor.IP, RequestID: f.Event.RequestID})
	if err != nil {
		return fmt.Errorf("detect: webhook: encode finding: %w", err)
	}
	backoff := w.cfg.Backoff
	var last error
	for attempt := 1; ; attempt++ {
		retryAfter, retry, err := w.post(ctx, body)
		if err == nil {
			return nil
		}
		last = fmt.Errorf("%w: attempt %d of %d: %v", ErrWebhook, attempt, w.cfg.MaxAttempts, err)
		if !retry || attempt >= w.cfg.MaxAttempts || ctx.Err() != nil {
			return last
		}
		// Retry-After is a floor for the wait, and MaxBackoff its cap.
		wait := min(max(jitter(backoff), retryAfter), w.cfg.MaxBackoff)
		backoff = min(2*backoff, w.cfg.MaxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (then %w)", last, ctx.Err())
		}
	}
}

// post makes one attempt. It returns the wait a Retry-After asked for and
// whether a failure may be retried.
func (w *Webhook) post(ctx context.Context, body []byte) (time.Duration, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, false, errors.New("cannot build the request")
	}
	for k, vs := range w.cfg.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		// *url.Error repeats the URL, which may hold a token: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, true, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return 0, false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return retryAfter(resp.Header.Get("Retry-After"), time.Now()), true, fmt.Errorf("status %d", resp.StatusCode)
	}
	return 0, false, fmt.Errorf("status %d (not retried)", resp.StatusCode)
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
