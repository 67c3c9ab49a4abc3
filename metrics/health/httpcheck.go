package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// HTTPCheck describes a dependency reached over HTTP: a GET of URL must
// answer ExpectStatus within Timeout.
type HTTPCheck struct {
	// URL is fetched with GET. Required, http or https.
	URL string
	// ExpectStatus is the status that means healthy. Zero means any 2xx.
	ExpectStatus int
	// Timeout bounds one request, connection included. Zero means the
	// Check's own Timeout (the registry bounds every run) alone.
	Timeout time.Duration
	// Client sends the request. Nil means a client with no redirects
	// followed (a health endpoint that redirects is misconfigured, and a
	// redirect could lead the probe anywhere).
	Client *http.Client
}

// maxDrain bounds how much of a response body is read (and discarded) so
// that the connection can be reused; a larger body is closed unread.
const maxDrain = 64 << 10

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// HTTP returns a check of an HTTP dependency, or an error naming the
// HTTPCheck field that is wrong. The check's error names the URL without
// its user info and query (which may hold credentials) and the status.
func HTTP(c HTTPCheck) (func(ctx context.Context) error, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("health: HTTPCheck.URL must be an absolute http or https URL")
	}
	if c.ExpectStatus != 0 && (c.ExpectStatus < 100 || c.ExpectStatus > 599) {
		return nil, fmt.Errorf("health: HTTPCheck.ExpectStatus must be 0 or 100..599, got %d", c.ExpectStatus)
	}
	if c.Timeout < 0 {
		return nil, fmt.Errorf("health: HTTPCheck.Timeout must be >= 0, got %v", c.Timeout)
	}
	shown := *u
	shown.User, shown.RawQuery, shown.Fragment = nil, "", ""
	target := shown.String()
	client := c.Client
	if client == nil {
		client = noRedirects
	}
	return func(ctx context.Context) error {
		if c.Timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, c.Timeout)
			defer cancel()
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
		if err != nil {
			return fmt.Errorf("health: GET %s: %w", target, err)
		}
		resp, err := client.Do(req)
		if err != nil {
			var uerr *url.Error
			if errors.As(err, &uerr) {
				err = uerr.Err // the url.Error repeats the full URL
			}
			return fmt.Errorf("health: GET %s: %w", target, err)
		}
		_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
		_ = resp.Body.Close()
		switch {
		case c.ExpectStatus == 0 && resp.StatusCode >= 200 && resp.StatusCode < 300:
			return nil
		case c.ExpectStatus != 0 && resp.StatusCode == c.ExpectStatus:
			return nil
		case c.ExpectStatus == 0:
			return fmt.Errorf("health: GET %s answered %d, want 2xx", target, resp.StatusCode)
		}
		return fmt.Errorf("health: GET %s answered %d, want %d", target, resp.StatusCode, c.ExpectStatus)
	}, nil
}
