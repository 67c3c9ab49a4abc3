package ratelimit

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Problem type URIs and the stable codes the middleware puts in its RFC 9457
// problem bodies. Clients branch on "code"; "type" identifies the problem
// for generic tooling.
const (
	// ProblemTypeQuotaExceeded is the problem type the RateLimit draft
	// registers for a client over its quota.
	ProblemTypeQuotaExceeded = "https://iana.org/assignments/http-problem-types#quota-exceeded"

	// ProblemTypeReducedCapacity is the problem type the RateLimit draft
	// registers for a request refused because the server is saturated.
	ProblemTypeReducedCapacity = "https://iana.org/assignments/http-problem-types#temporary-reduced-capacity"

	// CodeLimited marks a 429: the client is over its rate limit.
	CodeLimited = "rate_limited"
	// CodeKeyMissing marks a 400: the request carried no rate-limit key
	// (for example no API key header).
	CodeKeyMissing = "rate_limit_key_missing"
	// CodeOverloaded marks a 503 from Bulkhead.Wrap: every slot is taken and
	// the queue is full, or the request waited longer than MaxWait.
	CodeOverloaded = "overloaded"
	// CodeUnavailable marks a 503: the limiter could not decide (a shared
	// store in fail-closed mode was unreachable).
	CodeUnavailable = "rate_limiter_unavailable"
	// CodeInvalidCost marks a 500: MiddlewareConfig.Cost gave a request a
	// cost the limiter can never grant (below 1 or above its Burst).
	CodeInvalidCost = "rate_limit_cost_invalid"
)

// Problem is an RFC 9457 problem details object with Keel's "code"
// extension and the RateLimit draft's "violated-policies" extension: what
// the middleware answers a refused request with. MiddlewareConfig.
// WriteProblem receives it to render it in the application's own format.
type Problem struct {
	Type             string   `json:"type"`
	Title            string   `json:"title"`
	Status           int      `json:"status"`
	Detail           string   `json:"detail,omitempty"`
	Code             string   `json:"code"`
	ViolatedPolicies []string `json:"violated-policies,omitempty"`
}

// WriteProblemJSON writes p as application/problem+json with status
// p.Status, Cache-Control: no-store and X-Content-Type-Options: nosniff:
// the middleware's default WriteProblem.
func WriteProblemJSON(w http.ResponseWriter, _ *http.Request, p Problem) { writeProblem(w, p) }

// writeProblem writes p as application/problem+json with p.Status.
func writeProblem(w http.ResponseWriter, p Problem) {
	body, err := json.Marshal(p)
	if err != nil {
		// Marshalling strings and ints cannot fail; answer with the status
		// alone if it somehow did.
		w.WriteHeader(p.Status)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}
