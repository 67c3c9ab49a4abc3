// Package httproute turns a net/http ServeMux pattern into the http.route
// path template. It is shared by metrics (the server middleware) and
// metrics/requestctx (the route of the request a query runs for).
package httproute

import "strings"

// FromPattern turns a Go 1.22+ http.ServeMux pattern ("[METHOD ][HOST]/PATH")
// into the http.route path template: the method and host are dropped and a
// trailing "{$}" becomes nothing ("GET example.com/items/{id}" →
// "/items/{id}", "/{$}" → "/"). An empty pattern, or a string with no path
// (which ServeMux would never have matched), gives "".
func FromPattern(pattern string) string {
	if !strings.Contains(pattern, "/") {
		return ""
	}
	// A method is present only when a blank comes before the path.
	if i := strings.IndexAny(pattern, " \t"); i >= 0 && i < strings.IndexByte(pattern, '/') {
		pattern = strings.TrimLeft(pattern[i+1:], " \t")
	}
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		pattern = pattern[i:]
	}
	// A valid pattern ends in at most one "{$}"; trimming every one keeps
	// the route free of it for any string a caller passes.
	for strings.HasSuffix(pattern, "{$}") {
		pattern = strings.TrimSuffix(pattern, "{$}")
	}
	return pattern
}
