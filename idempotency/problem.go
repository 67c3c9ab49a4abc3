package idempotency

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Problem codes: the stable "code" member of the RFC 9457 problem+json
// bodies the middleware writes. Clients branch on these, not on "detail".
const (
	CodeKeyMissing       = "idempotency_key_missing"       // 400
	CodeKeyInvalid       = "idempotency_key_invalid"       // 400
	CodeRequestTooLarge  = "idempotency_request_too_large" // 413
	CodeBodyUnreadable   = "idempotency_body_unreadable"   // 400
	CodeKeyMismatch      = "idempotency_key_mismatch"      // 422
	CodeInProgress       = "idempotency_in_progress"       // 409
	CodeStoreUnavailable = "idempotency_store_unavailable" // 503
	// CodePrincipalMissing: MiddlewareConfig.Principal returned "" for a
	// request with a key. The server cannot scope the key to a caller, so
	// the handler does not run (500: a server misconfiguration the caller
	// cannot fix).
	CodePrincipalMissing = "idempotency_principal_missing" // 500
)

// Problem is an RFC 9457 problem detail with Keel's "code" extension
// member: what the middleware answers a request it refuses with, handed to
// MiddlewareConfig.WriteProblem when that is set.
type Problem struct {
	// Type is about:blank, or MiddlewareConfig.ProblemType#code.
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Code is one of the Code* constants.
	Code string `json:"code"`
}

// problem answers a refused request, through MiddlewareConfig.WriteProblem
// when it is set.
func (mw *Middleware) problem(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	p := Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Code: code}
	if mw.problemType != "" {
		p.Type = mw.problemType + "#" + code
	}
	if mw.writeProblem != nil {
		mw.writeProblem(w, r, p)
		return
	}
	writeProblem(w, p)
}

// writeProblem answers with an application/problem+json body that no
// cache keeps and no browser sniffs.
func writeProblem(w http.ResponseWriter, p Problem) {
	body, err := json.Marshal(p)
	if err != nil { // unreachable: the struct holds only strings and an int
		body = []byte(`{"type":"about:blank","status":` + strconv.Itoa(p.Status) + `}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}
