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

// problem is an RFC 9457 problem detail with Keel's "code" extension member.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Code   string `json:"code"`
}

// writeProblem answers with an application/problem+json body. typeBase, when
// set, is a documentation URL; the problem's type is typeBase#code, as the
// draft suggests ("a link pointing to relevant documentation").
func writeProblem(w http.ResponseWriter, typeBase string, status int, code, detail string) {
	p := problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Code: code}
	if typeBase != "" {
		p.Type = typeBase + "#" + code
	}
	body, err := json.Marshal(p)
	if err != nil { // unreachable: the struct holds only strings and an int
		body = []byte(`{"type":"about:blank","status":` + strconv.Itoa(status) + `}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
