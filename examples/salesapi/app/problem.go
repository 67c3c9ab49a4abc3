package app

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/keel-go/keel/idempotency"
	"github.com/keel-go/keel/ratelimit"
)

// Problem is an RFC 9457 problem details body. Code is stable: clients
// branch on it, never on Title or Detail.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Code   string       `json:"code"`
	Detail string       `json:"detail,omitempty"`
	Fields []FieldError `json:"fields,omitempty"`
	// ViolatedPolicies names the rate-limit policies a 429 exceeded.
	ViolatedPolicies []string `json:"violated-policies,omitempty"`
}

// FieldError names one invalid field of a request body.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// The stable problem codes this API answers with.
const (
	CodeUnauthorized    = "unauthorized"
	CodeForbidden       = "forbidden"
	CodeNotFound        = "not_found"
	CodeMalformed       = "malformed_request"
	CodeTooLarge        = "body_too_large"
	CodeInvalid         = "invalid_fields"
	CodeInternal        = "internal_error"
	CodePaymentFailed   = "payment_failed"
	CodePaymentDegraded = "payment_unavailable"
	CodeHasOrders       = "customer_has_orders"
	CodeRateLimited     = "rate_limited" // as ratelimit.Middleware answers
)

// ProblemTypeBase is the prefix of every problem type URI the API answers
// with: the type is ProblemTypeBase + code.
const ProblemTypeBase = "https://keel.dev/problems/"

// writeProblem answers with a problem+json body. It is the one writer of
// every problem the API returns — its own, and those of the idempotency
// middleware and the rate limiters, through their WriteProblem hooks — so
// that all have one type URI scheme and the same headers: no cache keeps
// them and no browser sniffs them.
func writeProblem(w http.ResponseWriter, p Problem) {
	p.Type = ProblemTypeBase + p.Code
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	body, err := json.Marshal(p)
	if err != nil { // unreachable: strings, ints and string slices
		body = []byte(`{"status":` + strconv.Itoa(p.Status) + `}`)
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}

// idempotencyProblem is the idempotency middleware's WriteProblem.
func idempotencyProblem(w http.ResponseWriter, _ *http.Request, p idempotency.Problem) {
	writeProblem(w, Problem{Status: p.Status, Code: p.Code, Detail: p.Detail})
}

// rateLimitProblem is the rate limiters' WriteProblem.
func rateLimitProblem(w http.ResponseWriter, _ *http.Request, p ratelimit.Problem) {
	writeProblem(w, Problem{Status: p.Status, Code: p.Code, Detail: p.Detail, ViolatedPolicies: p.ViolatedPolicies})
}

func problem(w http.ResponseWriter, status int, code, detail string) {
	writeProblem(w, Problem{Status: status, Code: code, Detail: detail})
}

// unavailable answers 503 with Retry-After rounded up to whole seconds.
func unavailable(w http.ResponseWriter, code, detail string, retryAfter time.Duration) {
	secs := int((retryAfter + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	problem(w, http.StatusServiceUnavailable, code, detail)
}

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
