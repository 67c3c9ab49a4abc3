package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
)

// Taker is a per-key limiter the middleware can use: Keyed in one process,
// redislimit.Limiter across many.
type Taker interface {
	// Take takes one unit from key's bucket and reports the decision. An
	// error means no decision could be made (the middleware answers 503).
	Take(ctx context.Context, key string) (Decision, error)
	// Policy describes the limit for the RateLimit-Policy field.
	Policy() Quota
}

// CostTaker is a Taker that can take several units for one call (Keyed,
// redislimit.Limiter): MiddlewareConfig.Cost needs one.
type CostTaker interface {
	Taker
	// TakeN takes n units at once. An n it can never grant is an error
	// wrapping ErrInvalidCost.
	TakeN(ctx context.Context, key string, n int) (Decision, error)
}

// PolicyLister is a Taker with several windows per key; the middleware
// advertises all of them in RateLimit-Policy.
type PolicyLister interface {
	// Policies describes every window, in a fixed order.
	Policies() []Quota
}

// MiddlewareConfig configures the HTTP middleware.
type MiddlewareConfig struct {
	// Limiter decides each request. Required.
	Limiter Taker
	// Key picks the bucket a request takes from. Default: the client IP
	// as the direct peer reports it (ClientIP with no trusted proxies).
	Key KeyFunc
	// Cost says how many units a request takes (an expensive endpoint may
	// take 10). Default: 1 for every request. Limiter must then be a
	// CostTaker. A cost the limiter can never grant (below 1 or above its
	// Burst) is answered 500 with code CodeInvalidCost and logged: it is a
	// server bug, not the client's.
	Cost func(*http.Request) int
	// OnLimited, if set, is called for every request refused with 429, with
	// the request and the decision, before the response is written: audit
	// the denial, count it by route. It runs on the request's goroutine, so
	// keep it short.
	OnLimited func(r *http.Request, d Decision)
	// WriteProblem, if set, writes every refusal the middleware answers
	// (429, 400, 500, 503) in the application's own format. The RateLimit
	// fields and Retry-After are already set on w; it must write p.Status.
	// Default: WriteProblemJSON.
	WriteProblem func(w http.ResponseWriter, r *http.Request, p Problem)
	// Logger receives key-function and limiter errors (never the key
	// itself). Nil means no logs.
	Logger *slog.Logger
}

// Middleware limits requests per key. Every response it lets through or
// refuses carries the RateLimit-Policy and RateLimit fields; refused requests
// get 429, Retry-After and an application/problem+json body whose "code" is
// CodeLimited.
type Middleware struct {
	limiter    Taker
	costTaker  CostTaker // non-nil when Cost is set
	cost       func(*http.Request) int
	onLimited  func(*http.Request, Decision)
	write      func(http.ResponseWriter, *http.Request, Problem)
	key        KeyFunc
	logger     *slog.Logger
	policy     Quota
	policyHdr  string
	policyName []byte
	// names holds each policy's serialised name when the limiter has
	// several windows.
	names map[string][]byte
}

// NewMiddleware returns the middleware, or an error naming the first invalid
// MiddlewareConfig field.
func NewMiddleware(cfg MiddlewareConfig) (*Middleware, error) {
	if cfg.Limiter == nil {
		return nil, errors.New("ratelimit: MiddlewareConfig.Limiter is required")
	}
	p := cfg.Limiter.Policy()
	policies := []Quota{p}
	if pl, ok := cfg.Limiter.(PolicyLister); ok {
		policies = pl.Policies()
	}
	for _, p := range policies {
		if err := validPolicyName(p.Name); err != nil {
			return nil, fmt.Errorf("ratelimit: MiddlewareConfig.Limiter: %w", err)
		}
	}
	var costTaker CostTaker
	if cfg.Cost != nil {
		var ok bool
		if costTaker, ok = cfg.Limiter.(CostTaker); !ok {
			return nil, fmt.Errorf("ratelimit: MiddlewareConfig.Cost needs a Limiter with TakeN (a CostTaker); %T has none", cfg.Limiter)
		}
	}
	key := cfg.Key
	if key == nil {
		var err error
		if key, err = ClientIP(ClientIPConfig{}); err != nil {
			return nil, err
		}
	}
	m := &Middleware{
		limiter:    cfg.Limiter,
		costTaker:  costTaker,
		cost:       cfg.Cost,
		onLimited:  cfg.OnLimited,
		write:      cfg.WriteProblem,
		key:        key,
		logger:     orDiscard(cfg.Logger),
		policy:     p,
		policyHdr:  formatPolicies(policies),
		policyName: appendSFString(nil, p.Name),
	}
	if len(policies) > 1 {
		m.names = make(map[string][]byte, len(policies))
		for _, p := range policies {
			m.names[p.Name] = appendSFString(nil, p.Name)
		}
	}
	return m, nil
}

// writeProblem answers a refused request through MiddlewareConfig.WriteProblem,
// or WriteProblemJSON when that is not set.
func (m *Middleware) writeProblem(w http.ResponseWriter, r *http.Request, p Problem) {
	if m.write == nil {
		writeProblem(w, p)
		return
	}
	m.write(w, r, p)
}

// take asks the limiter for r's decision, with r's cost when Cost is set.
func (m *Middleware) take(r *http.Request, key string) (Decision, error) {
	if m.cost == nil {
		return m.limiter.Take(r.Context(), key)
	}
	return m.costTaker.TakeN(r.Context(), key, m.cost(r))
}

// rateLimitField renders the RateLimit field for d: one item per policy,
// the most restrictive first.
func (m *Middleware) rateLimitField(d Decision) string {
	if d.Policies == nil {
		return formatRateLimit(m.policyName, d)
	}
	return formatRateLimits(m.names, d.Policies)
}

// Wrap returns next behind the limiter.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set(HeaderRateLimitPolicy, m.policyHdr)
		key, err := m.key(r)
		if err != nil {
			m.log(r, "ratelimit: no key for request", err)
			m.writeProblem(w, r, Problem{
				Type:   "about:blank",
				Title:  "Bad Request",
				Status: http.StatusBadRequest,
				Detail: "The request carries no rate-limit key.",
				Code:   CodeKeyMissing,
			})
			return
		}
		d, err := m.take(r, key)
		if errors.Is(err, ErrInvalidCost) {
			m.log(r, "ratelimit: request cost out of range", err)
			m.writeProblem(w, r, Problem{
				Type:   "about:blank",
				Title:  "Internal Server Error",
				Status: http.StatusInternalServerError,
				Detail: "The server gave this request a rate-limit cost it can never grant.",
				Code:   CodeInvalidCost,
			})
			return
		}
		if err != nil {
			m.log(r, "ratelimit: limiter unavailable", err)
			h.Set(HeaderRetryAfter, "1")
			m.writeProblem(w, r, Problem{
				Type:   "about:blank",
				Title:  "Service Unavailable",
				Status: http.StatusServiceUnavailable,
				Detail: "The rate limiter cannot decide right now; retry shortly.",
				Code:   CodeUnavailable,
			})
			return
		}
		h.Set(HeaderRateLimit, m.rateLimitField(d))
		if d.Allowed {
			next.ServeHTTP(w, r)
			return
		}
		if m.onLimited != nil {
			m.onLimited(r, d)
		}
		retry := ceilSeconds(d.RetryAfter)
		violated := d.Violated(m.policy.Name)
		h.Set(HeaderRetryAfter, strconv.FormatInt(retry, 10))
		m.writeProblem(w, r, Problem{
			Type:             ProblemTypeQuotaExceeded,
			Title:            "Quota Exceeded",
			Status:           http.StatusTooManyRequests,
			Detail:           fmt.Sprintf("Rate limit %s exceeded; retry after %d s.", quoteAll(violated), retry),
			Code:             CodeLimited,
			ViolatedPolicies: violated,
		})
	})
}

func (m *Middleware) log(r *http.Request, msg string, err error) {
	m.logger.LogAttrs(r.Context(), slog.LevelWarn, msg,
		slog.String("keel.ratelimit.name", m.policy.Name),
		slog.String("http.request.method", r.Method),
		slog.String("error", err.Error()))
}

// quoteAll renders names as "a" or "a", "b".
func quoteAll(names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(n))
	}
	return b.String()
}
