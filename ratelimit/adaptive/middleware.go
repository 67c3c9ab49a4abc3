package adaptive

import (
	"fmt"
	"net/http"

	"github.com/keel-go/keel/ratelimit"
)

// Wrap returns next behind the limiter: each request holds a permit while
// next serves it, and the time next takes feeds the limit. A request of a
// priority (Config.RequestPriority, else its context's) or tenant
// (Config.RequestTenant, else its context's) whose share of the limit is in
// use gets 503 Service Unavailable with "Retry-After: 1" and the house
// problem+json body (ratelimit.CodeOverloaded,
// ratelimit.ProblemTypeReducedCapacity), written by Config.WriteProblem.
// As with ratelimit.Bulkhead.Wrap, no RateLimit fields are sent: the
// capacity is shared by every client, and advertising it would tell anyone
// how much load saturates the service.
func (l *Limiter) Wrap(next http.Handler) http.Handler {
	if l == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, errNilLimiter.Error(), http.StatusInternalServerError)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		prio := PriorityFrom(ctx)
		if l.requestPriority != nil {
			prio = l.requestPriority(r)
		}
		var tenant string
		if l.requestTenant != nil {
			tenant = l.requestTenant(r)
		}
		if tenant == "" {
			tenant = TenantFrom(ctx)
		}
		permit, err := l.acquire(prio, tenant)
		if err != nil {
			w.Header().Set("Retry-After", "1")
			l.writeProblem(w, r, ratelimit.Problem{
				Type:             ratelimit.ProblemTypeReducedCapacity,
				Title:            "Temporary Reduced Capacity",
				Status:           http.StatusServiceUnavailable,
				Detail:           fmt.Sprintf("Too many requests in progress (%q); retry shortly.", l.name),
				Code:             ratelimit.CodeOverloaded,
				ViolatedPolicies: []string{l.name},
			})
			return
		}
		defer permit.Release()
		next.ServeHTTP(w, r)
	})
}
