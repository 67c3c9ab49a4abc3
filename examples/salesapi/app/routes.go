package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/keel-go/keel/idempotency"
	"github.com/keel-go/keel/metrics"
	"github.com/keel-go/keel/metrics/requestctx"
	"github.com/keel-go/keel/ratelimit"
)

type principalKey struct{}

// principalOf is the authenticated caller (set by authenticate).
func principalOf(r *http.Request) principal {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return p
}

// routes builds the handler chain. Outside in: HTTP metrics → probes and
// /metrics (unauthenticated) → per-client-IP rate limit → authentication
// (failures limited per client IP) → per-key rate limit → routes; POST
// /v1/orders also passes the idempotency middleware.
func (a *App) routes() (http.Handler, error) {
	idem, err := idempotency.NewMiddleware(idempotency.MiddlewareConfig{
		Manager: a.idem, RequireKey: true, MaxRequestBody: MaxBodyBytes,
		Principal:    func(r *http.Request) string { return principalOf(r).ID },
		WriteProblem: idempotencyProblem,
	})
	if err != nil {
		return nil, fmt.Errorf("salesapi: idempotency middleware: %w", err)
	}
	api := a.api(idem.Wrap(a.requireRole(RoleSales, a.createOrder)))

	// The request id is the outer middleware's; this one records the API
	// mux's request, so that logs and slow queries name the API route.
	protected, err := a.rateLimited(requestctx.Middleware(reportRoute(api)))
	if err != nil {
		return nil, err
	}
	if protected, err = a.clientLimited(a.authenticate(protected)); err != nil {
		return nil, err
	}
	mm, err := metrics.NewMiddleware(metrics.MiddlewareConfig{})
	if err != nil {
		return nil, fmt.Errorf("salesapi: HTTP metrics middleware: %w", err)
	}
	// Outside the metrics middleware, which passes the request on as it is:
	// both read the pattern root sets on it, or the API mux's (carryRoute).
	return requestctx.Middleware(mm.Wrap(carryRoute(a.root(protected)))), nil
}

// api routes the API to its handlers; orders serves POST /v1/orders.
func (a *App) api(orders http.Handler) *http.ServeMux {
	api := http.NewServeMux()
	handle := func(pattern string, role Role, h http.HandlerFunc) {
		api.Handle(pattern, a.requireRole(role, h))
	}
	handle("POST /v1/customers", RoleSales, a.createCustomer)
	handle("GET /v1/customers", RoleSales, a.findCustomers)
	handle("GET /v1/customers/{id}", RoleSales, a.getCustomer)
	handle("PATCH /v1/customers/{id}", RoleSales, a.updateCustomer)
	handle("DELETE /v1/customers/{id}", RoleAdmin, a.deleteCustomer)
	handle("POST /v1/customers/{id}/licenses", RoleSales, a.createLicense)
	handle("GET /v1/customers/{id}/licenses", RoleSales, a.listLicenses)
	handle("GET /v1/licenses/{id}", RoleSales, a.getLicense)
	handle("GET /v1/orders/{id}", RoleSales, a.getOrder)
	handle("GET /v1/reports/sales", RoleSales, a.cachedSalesReport())
	handle("GET /v1/audit", RoleAdmin, a.auditQuery)
	handle("GET /v1/audit/verify", RoleAdmin, a.auditVerify)
	handle("POST /v1/admin/backups", RoleAdmin, a.createBackup)
	handle("GET /v1/admin/backups", RoleAdmin, a.listBackups)
	handle("POST /v1/admin/chaos", RoleAdmin, a.chaos)
	handle("GET /v1/admin/gateway", RoleAdmin, a.gatewayStats)
	a.handleProfiling(handle)
	api.Handle("POST /v1/orders", orders)
	a.mountDashboard(handle)
	// Anything else is a problem+json 404 (the mux's own answer is text).
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		problem(w, http.StatusNotFound, CodeNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return api
}

// root serves the probes and /metrics unauthenticated, and everything else
// through protected.
func (a *App) root(protected http.Handler) *http.ServeMux {
	root := http.NewServeMux()
	root.Handle("GET /livez", a.health.Livez())
	root.Handle("GET /readyz", a.health.Readyz())
	if a.cfg.MetricsHandler != nil {
		root.Handle("GET /metrics", a.cfg.MetricsHandler)
	}
	root.Handle("/", protected)
	return root
}

// authenticate answers 401 (audited) to a request without a valid key.
func (a *App) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := a.auth.authenticate(r.Header.Get("Authorization"))
		if !ok {
			if !a.authFailureAllowed(r) {
				a.tooManyAuthFailures(w)
				return // not audited: the first failures of this burst were
			}
			a.recordDenied(r, "anonymous", "missing or unknown API key")
			w.Header().Set("WWW-Authenticate", `Bearer realm="salesapi"`)
			problem(w, http.StatusUnauthorized, CodeUnauthorized, "send Authorization: Bearer <API key>")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// requireRole answers 403 (audited) unless the caller has role, or admin.
func (a *App) requireRole(role Role, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalOf(r)
		if p.Role != role && p.Role != RoleAdmin {
			a.recordDenied(r, p.ID, "role "+string(p.Role)+" may not call this endpoint")
			problem(w, http.StatusForbidden, CodeForbidden, "this API key's role may not call this endpoint")
			return
		}
		h(w, r)
	})
}

// rateLimited applies the per-API-key limit; a 429 is audited as a denial.
func (a *App) rateLimited(next http.Handler) (http.Handler, error) {
	mw, err := ratelimit.NewMiddleware(ratelimit.MiddlewareConfig{
		Limiter: a.limiter,
		Key:     func(r *http.Request) (string, error) { return principalOf(r).ID, nil },
		OnLimited: func(r *http.Request, _ ratelimit.Decision) {
			a.recordDenied(r, principalOf(r).ID, "rate limited")
		},
		Logger:       a.cfg.Logger,
		WriteProblem: rateLimitProblem,
	})
	if err != nil {
		return nil, fmt.Errorf("salesapi: per-API-key rate limit middleware: %w", err)
	}
	return mw.Wrap(next), nil
}

// clientIP is the TCP peer (the example trusts no proxy header).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// routeOf names what a denied request asked for: its API pattern once the
// API mux has matched it (403s), else its path (401s and 429s are decided
// before, where only the root mux's catch-all "/" has matched).
// Either way it starts with the method ("GET /v1/customers/{id}").
func routeOf(r *http.Request) string {
	if r.Pattern != "" && r.Pattern != "/" {
		return r.Pattern // API patterns carry their method
	}
	return r.Method + " " + r.URL.Path
}

func itoa(n int) string { return strconv.Itoa(n) }
