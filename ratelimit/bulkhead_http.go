package ratelimit

import (
	"fmt"
	"net/http"
)

// Wrap returns next behind the bulkhead: each request holds a slot while next
// serves it. A request that cannot get one (every slot taken and the queue
// full, a queued wait past MaxWait, or the request's context ending while it
// waits) gets 503 Service Unavailable with "Retry-After: 1" and an
// application/problem+json body whose "code" is CodeOverloaded and whose
// "type" is ProblemTypeReducedCapacity.
//
// No RateLimit fields are sent: a bulkhead's capacity is shared by every
// client, and advertising it would tell anyone how much load saturates the
// service.
func (b *Bulkhead) Wrap(next http.Handler) http.Handler {
	if b == nil {
		return misconfigured(errNilBulkhead)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := b.Acquire(r.Context()); err != nil {
			w.Header().Set(HeaderRetryAfter, "1")
			writeProblem(w, Problem{
				Type:             ProblemTypeReducedCapacity,
				Title:            "Temporary Reduced Capacity",
				Status:           http.StatusServiceUnavailable,
				Detail:           fmt.Sprintf("Too many requests in progress (%q); retry shortly.", b.name),
				Code:             CodeOverloaded,
				ViolatedPolicies: []string{b.name},
			})
			return
		}
		defer b.Release()
		next.ServeHTTP(w, r)
	})
}
