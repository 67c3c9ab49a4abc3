package app

import (
	"context"
	"net/http"
)

// The HTTP metrics middleware (and the outer request id's log lines) read
// the route from the Pattern that http.ServeMux sets, in place, on the
// request they pass on. The API is a second mux behind authentication and
// the rate limits, which hand it a new request (r.WithContext), so the
// outer request only ever saw the root mux's catch-all "/": every API
// request was measured under http.route "/", and the dashboard's route
// table showed one row. carryRoute and reportRoute copy the API mux's
// match back out.

// outerRequestKey holds the request carryRoute passed on, whose Pattern the
// middlewares outside it read.
type outerRequestKey struct{}

// carryRoute wraps the root mux: the request it receives gets the innermost
// pattern matched (by the API mux, through reportRoute), else the root
// mux's own.
func carryRoute(root http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner := r.WithContext(context.WithValue(r.Context(), outerRequestKey{}, r))
		root.ServeHTTP(w, inner)
		if r.Pattern == "" {
			r.Pattern = inner.Pattern
		}
	})
}

// reportRoute wraps the API mux: once it has routed (and served) the
// request, its pattern is copied to the request carryRoute passed on.
func reportRoute(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.ServeHTTP(w, r)
		if outer, ok := r.Context().Value(outerRequestKey{}).(*http.Request); ok && r.Pattern != "" {
			outer.Pattern = r.Pattern
		}
	})
}
