package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
)

// Taker is a per-key limiter the middleware can use: Keyed in one process,
// redislimit.Limiter across many.
type Taker interface {
	// Take takes one unit from key's bucket and reports the decision. An
	// error means no decision could be made (the middleware answers 503).
	Take(ctx context.Context, key string) (Decision, error)
	// Policy describes the limit for the RateLimit-Policy field.
	Policy() Policy
}

// MiddlewareConfig configures the HTTP middleware.
type MiddlewareConfig struct {
	// Limiter decides each request. Required.
	Limiter Taker
	// Key picks the bucket a request takes from. Default: the client IP
	// as the direct peer reports it (ClientIP with no trusted proxies).
	Key KeyFunc
	// Logger receives key-function and limiter errors (never the key
	// itself). Default: no logs.
	Logger *slog.Logger
	// WriteProblem, when set, answers every refusal (429, and the 400 and
	// 503 when no key or no decision) instead of the middleware's own
	// writer, so that a service gives all its problems one style. The
	// RateLimit fields and Retry-After are set before it is called; it must
	// write the status. Default: an application/problem+json body with
	// Content-Length, Cache-Control: no-store and X-Content-Type-Options:
	// nosniff.
	WriteProblem func(w http.ResponseWriter, r *http.Request, p Problem)
}

// Middleware limits requests per key. Every response it lets through or
// refuses carries the RateLimit-Policy and RateLimit fields; refused requests
// get 429, Retry-After and an application/problem+json body whose "code" is
// CodeLimited.
type Middleware struct {
	limiter    Taker
	key        KeyFunc
	logger     *slog.Logger
	policy     Policy
	policyHdr  string
	policyName []byte
	write      func(http.ResponseWriter, *http.Request, Problem)
}

// NewMiddleware returns the middleware, or an error naming the first invalid
// MiddlewareConfig field.
func NewMiddleware(cfg MiddlewareConfig) (*Middleware, error) {
	if cfg.Limiter == nil {
		return nil, errors.New("ratelimit: MiddlewareConfig.Limiter is required")
	}
	p := cfg.Limiter.Policy()
	if err := validPolicyName(p.Name); err != nil {
		return nil, fmt.Errorf("ratelimit: MiddlewareConfig.Limiter: %w", err)
	}
	key := cfg.Key
	if key == nil {
		var err error
		if key, err = ClientIP(ClientIPConfig{}); err != nil {
			return nil, err
		}
	}
	return &Middleware{
		limiter:    cfg.Limiter,
		key:        key,
		logger:     cfg.Logger,
		policy:     p,
		policyHdr:  formatPolicy(p),
		policyName: appendSFString(nil, p.Name),
		write:      cfg.WriteProblem,
	}, nil
}

// problem answers a refused request, through MiddlewareConfig.WriteProblem
// when it is set.
func (m *Middleware) problem(w http.ResponseWriter, r *http.Request, p Problem) {
	if m.write != nil {
		m.write(w, r, p)
		return
	}
	writeProblem(w, p)
}

// Wrap returns next behind the limiter.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set(HeaderRateLimitPolicy, m.policyHdr)
		key, err := m.key(r)
		if err != nil {
			m.log(r, "ratelimit: no key for request", err)
			m.problem(w, r, Problem{
				Type:   "about:blank",
				Title:  "Bad Request",
				Status: http.StatusBadRequest,
				Detail: "The request carries no rate-limit key.",
				Code:   CodeKeyMissing,
			})
			return
		}
		d, err := m.limiter.Take(r.Context(), key)
		if err != nil {
			m.log(r, "ratelimit: limiter unavailable", err)
			h.Set(HeaderRetryAfter, "1")
			m.problem(w, r, Problem{
				Type:   "about:blank",
				Title:  "Service Unavailable",
				Status: http.StatusServiceUnavailable,
				Detail: "The rate limiter cannot decide right now; retry shortly.",
				Code:   CodeUnavailable,
			})
			return
		}
		h.Set(HeaderRateLimit, formatRateLimit(m.policyName, d))
		if d.Allowed {
			next.ServeHTTP(w, r)
			return
		}
		retry := ceilSeconds(d.RetryAfter)
		h.Set(HeaderRetryAfter, strconv.FormatInt(retry, 10))
		m.problem(w, r, Problem{
			Type:             ProblemTypeQuotaExceeded,
			Title:            "Quota Exceeded",
			Status:           http.StatusTooManyRequests,
			Detail:           fmt.Sprintf("Rate limit %q exceeded; retry after %d s.", m.policy.Name, retry),
			Code:             CodeLimited,
			ViolatedPolicies: []string{m.policy.Name},
		})
	})
}

func (m *Middleware) log(r *http.Request, msg string, err error) {
	if m.logger == nil {
		return
	}
	m.logger.LogAttrs(r.Context(), slog.LevelWarn, msg,
		slog.String("keel.ratelimit.name", m.policy.Name),
		slog.String("http.request.method", r.Method),
		slog.String("error", err.Error()))
}
