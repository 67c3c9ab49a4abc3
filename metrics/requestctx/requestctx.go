package requestctx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"

	"github.com/keel-go/keel/metrics/internal/httproute"
)

// Header is the request-id header the middleware reads and echoes.
const Header = "X-Request-ID"

// maxIDLength bounds an accepted incoming id: longer values are replaced,
// so that a client cannot make every log line carry a kilobyte.
const maxIDLength = 128

type contextKey struct{}

// info is what one request puts in its context. req is the request the
// middleware hands on: http.ServeMux sets its Pattern in place when it
// routes, so reading it later gives the route without a second lookup.
type info struct {
	id  string
	req *http.Request
}

// Middleware accepts a well-formed incoming X-Request-ID (1 to 128 of
// A-Z a-z 0-9 - _ . : and nothing else) or makes a new one (128 bits from
// crypto/rand, 32 hex digits), echoes it in the response's X-Request-ID, and
// puts it in the request's context, where [ID] finds it.
//
// Wrap the http.ServeMux directly with it, or put it outside a middleware
// that passes the request on unchanged (metrics.Middleware without
// Tracing): [Route] reads the pattern the mux sets on the request this
// middleware passes on, and a handler in between that replaces the request
// (r.WithContext) hides it. Nested muxes: wrap each; the id stays the
// outer one's, the route becomes the innermost match.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A request that already has an id (this middleware also wraps an
		// inner mux) keeps it: the inner one only records its request,
		// whose Pattern is the more specific route.
		id := ID(r.Context())
		if id == "" {
			if id = r.Header.Get(Header); !WellFormedID(id) {
				id = NewID()
			}
			w.Header().Set(Header, id)
		}
		in := &info{id: id}
		r = r.WithContext(context.WithValue(r.Context(), contextKey{}, in))
		in.req = r
		next.ServeHTTP(w, r)
	})
}

// WellFormedID reports whether id may be used as a request id as it is:
// 1 to 128 characters, each an ASCII letter, digit, '-', '_', '.' or ':'.
// UUIDs, ULIDs, hex and unpadded base64url ids qualify; anything that could
// break a log line or a header (spaces, quotes, control characters) does not.
func WellFormedID(id string) bool {
	if len(id) == 0 || len(id) > maxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// NewID returns a fresh request id: 128 bits from crypto/rand as 32
// lower-case hex digits.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+): it crashes the program instead
	return hex.EncodeToString(b[:])
}

// WithID returns a context carrying id as its request id, for work that does
// not come through the middleware (a job, a queue consumer). An id that is
// not [WellFormedID] is replaced by a new one, as the middleware would.
func WithID(ctx context.Context, id string) context.Context {
	if !WellFormedID(id) {
		id = NewID()
	}
	return context.WithValue(ctx, contextKey{}, &info{id: id})
}

// ID returns the request id in ctx, or "" if there is none.
func ID(ctx context.Context) string {
	if in, ok := ctx.Value(contextKey{}).(*info); ok {
		return in.id
	}
	return ""
}

// Route returns the http.route of the request in ctx ("/customers/{id}"),
// or "" when ctx carries no request, or the request was not routed by an
// http.ServeMux (yet).
func Route(ctx context.Context) string {
	if in, ok := ctx.Value(contextKey{}).(*info); ok && in.req != nil {
		return httproute.FromPattern(in.req.Pattern)
	}
	return ""
}
