package metrics_test

import (
	"strings"
	"testing"

	"github.com/keel-go/keel/metrics"
)

// FuzzRoute checks that any pattern string gives a route without panicking,
// and that a pattern with a path gives a path-absolute route free of the
// method and host.
func FuzzRoute(f *testing.F) {
	for _, seed := range []string{"", "/", "/{$}", "GET /customers/{id}", "example.com/static/", "POST  a.b/x/{y...}"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		route := metrics.Route(pattern)
		if pattern == "" && route != "" {
			t.Fatalf("Route(%q) = %q, want empty", pattern, route)
		}
		if strings.Contains(pattern, "/") && !strings.HasPrefix(route, "/") {
			t.Fatalf("Route(%q) = %q, want a path", pattern, route)
		}
		if strings.HasSuffix(route, "{$}") {
			t.Fatalf("Route(%q) = %q keeps {$}", pattern, route)
		}
	})
}
