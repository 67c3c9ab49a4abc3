package app

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
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

// writeProblem answers with a problem+json body.
func writeProblem(w http.ResponseWriter, p Problem) {
	if p.Type == "" {
		p.Type = "https://keel.dev/problems/" + p.Code
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
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
