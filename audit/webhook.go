package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// WebhookConfig configures a WebhookNotifier.
type WebhookConfig struct {
	// URL receives each finding as a JSON POST. Required, http or https.
	URL string
	// Header is added to every request (e.g. Authorization). Its values
	// never appear in errors or logs.
	Header http.Header
	// Client sends the requests. Default: a client with a 10 s timeout.
	Client *http.Client
	// MaxAttempts bounds the tries per finding. Default 5.
	MaxAttempts int
	// InitialBackoff is the wait after the first failure; it doubles (with
	// jitter, up to MaxBackoff) after each further one. Default 500 ms.
	InitialBackoff time.Duration
	// MaxBackoff caps a wait, a Retry-After included. Default 30 s.
	MaxBackoff time.Duration
}

// WebhookNotifier POSTs findings as JSON and retries transport errors,
// 429 and 5xx responses with exponential backoff; other 4xx responses are
// not retried (the request itself is wrong).
type WebhookNotifier struct {
	cfg WebhookConfig
}

// NewWebhookNotifier validates cfg.
func NewWebhookNotifier(cfg WebhookConfig) (*WebhookNotifier, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("audit: WebhookConfig.URL must be an absolute http or https URL")
	}
	if cfg.MaxAttempts < 0 || cfg.InitialBackoff < 0 || cfg.MaxBackoff < 0 {
		return nil, errors.New("audit: WebhookConfig.MaxAttempts, InitialBackoff and MaxBackoff must not be negative")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	cfg.MaxAttempts = orDefault(cfg.MaxAttempts, 5)
	cfg.InitialBackoff = orDefaultDuration(cfg.InitialBackoff, 500*time.Millisecond)
	cfg.MaxBackoff = orDefaultDuration(cfg.MaxBackoff, 30*time.Second)
	return &WebhookNotifier{cfg: cfg}, nil
}

// webhookBody is the JSON a webhook receives.
type webhookBody struct {
	Finding
	Action       string  `json:"action"`
	ResourceType string  `json:"resource_type,omitempty"`
	ResourceID   string  `json:"resource_id,omitempty"`
	Outcome      Outcome `json:"outcome"`
	IP           string  `json:"ip,omitempty"`
	RequestID    string  `json:"request_id,omitempty"`
}

// ErrWebhook is wrapped by WebhookNotifier.Notify when every attempt failed.
var ErrWebhook = errors.New("audit: webhook failed")

// Notify POSTs f, retrying as configured, until it succeeds, a response
// says not to retry, the attempts are used up or ctx ends.
func (w *WebhookNotifier) Notify(ctx context.Context, f Finding) error {
	body, err := json.Marshal(webhookBody{Finding: f, Action: f.Event.Action, ResourceType: f.Event.Resource.Type,
		ResourceID: f.Event.Resource.ID, Outcome: f.Event.Outcome, IP: f.Event.Actor.IP, RequestID: f.Event.RequestID})
	if err != nil {
		return fmt.Errorf("audit: webhook: encode finding: %w", err)
	}
	backoff := w.cfg.InitialBackoff
	var last error
	for attempt := 1; ; attempt++ {
		wait, retry, err := w.post(ctx, body)
		if err == nil {
			return nil
		}
		last = fmt.Errorf("%w: attempt %d of %d: %v", ErrWebhook, attempt, w.cfg.MaxAttempts, err)
		if !retry || attempt >= w.cfg.MaxAttempts {
			return last
		}
		if wait <= 0 {
			wait = jitter(backoff)
			backoff = min(2*backoff, w.cfg.MaxBackoff)
		}
		t := time.NewTimer(min(wait, w.cfg.MaxBackoff))
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
func (w *WebhookNotifier) post(ctx context.Context, body []byte) (time.Duration, bool, error) {
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
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		// *url.Error repeats the URL, which may hold a token: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, ctx.Err() == nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return 0, false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		var wait time.Duration
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			wait = time.Duration(s) * time.Second
		}
		return wait, true, fmt.Errorf("status %d", resp.StatusCode)
	}
	return 0, false, fmt.Errorf("status %d (not retried)", resp.StatusCode)
}

// jitter returns a duration in [d/2, d].
func jitter(d time.Duration) time.Duration {
	var b [8]byte
	_, _ = rand.Read(b[:])
	half := int64(d / 2)
	if half <= 0 {
		return d
	}
	return time.Duration(half + int64(binary.LittleEndian.Uint64(b[:])%uint64(half+1)))
}
