package ratelimit

import (
	"errors"
	"net/http"
)

// A nil policy is a mistake in the caller's wiring (a field never set, a
// constructor's error ignored). It gets an error naming the type and the
// constructor, and the call is not made, instead of a nil-pointer panic deep
// inside the package (docs/CONVENTIONS.md, "No panic on anything a user
// passes"). Allow and Take, which have no error to return, refuse. A typed
// nil in a Guard reaches its own Do, which checks.
var (
	errNilBulkhead = errors.New("ratelimit: a nil *Bulkhead was used; build one with ratelimit.NewBulkhead")
	errNilLimiter  = errors.New("ratelimit: a nil *Limiter was used; build one with ratelimit.New")
	errNilGuard    = errors.New("ratelimit: Do called with a nil Guard; build a Limiter with ratelimit.New or a Bulkhead with ratelimit.NewBulkhead")
)

// misconfigured answers every request 500 with err's text: a handler built
// from a nil policy cannot protect anything, and serving the request
// unprotected would hide the mistake.
func misconfigured(err error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	})
}
