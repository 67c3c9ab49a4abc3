package app

import (
	"fmt"
	"net/http"
	"time"

	"github.com/keel-go/keel/ratelimit"
)

// buildClientLimits makes the two per-client-IP limiters that stand before
// authentication. Every 401 is audited, durably: without them one client
// could make the service fsync an audit record per request, as fast as it
// can send them. Both key a client the same way (ratelimit.ClientIP: the
// TCP peer, IPv6 by /64), so that rotating addresses within one's own
// prefix buys nothing.
func (a *App) buildClientLimits() error {
	var err error
	if a.clientKey, err = ratelimit.ClientIP(ratelimit.ClientIPConfig{}); err != nil { // no proxy is trusted in the example
		return err
	}
	a.ipLimiter, err = ratelimit.NewKeyed(ratelimit.KeyedConfig{
		Name: "client_ip", Limit: a.cfg.IPRateLimit, Period: time.Minute, Burst: 4 * a.cfg.RateBurst, MaxKeys: 100_000,
	})
	if err != nil {
		return err
	}
	a.closers = append(a.closers, a.ipLimiter.Close)
	a.authFailures, err = ratelimit.NewKeyed(ratelimit.KeyedConfig{
		Name: "auth_failures", Limit: a.cfg.AuthFailuresPerMinute, Period: time.Minute, Burst: min(20, a.cfg.AuthFailuresPerMinute), MaxKeys: 100_000,
	})
	if err != nil {
		return err
	}
	a.closers = append(a.closers, a.authFailures.Close)
	return nil
}

// clientLimited applies the per-client-IP limit to every request before
// authentication. Its 429s are not audited (they carry no principal, and
// auditing them would hand a flood the disk); they are counted in the
// limiter's metrics.
func (a *App) clientLimited(next http.Handler) (http.Handler, error) {
	mw, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{Limiter: a.ipLimiter, Key: a.clientKey, Logger: a.cfg.Logger,
		WriteProblem: rateLimitProblem})
	if err != nil {
		return nil, fmt.Errorf("salesapi: per-client-IP rate limit middleware: %w", err)
	}
	return mw.Wrap(next), nil
}

// tooManyAuthFailures answers a client that sent too many bad API keys.
func (a *App) tooManyAuthFailures(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "60")
	problem(w, http.StatusTooManyRequests, CodeRateLimited, "too many requests with a missing or unknown API key from this address")
}

// authFailureAllowed takes one failed authentication from the client's
// budget; false means refuse it unaudited.
func (a *App) authFailureAllowed(r *http.Request) bool {
	key, err := a.clientKey(r)
	if err != nil {
		return false // no address to key it by: as if over the limit
	}
	return a.authFailures.Allow(key)
}
