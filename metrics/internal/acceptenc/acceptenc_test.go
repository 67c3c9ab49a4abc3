package acceptenc

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestGzip: the Accept-Encoding rules of RFC 9110 §12.5.3 as the
// handlers of package metrics apply them. q is read from whichever parameter carries it; gzip
// named with q=0 or a malformed weight is refused, even if named again; "*" stands for codings the header does not
// name, and gets gzip only where identity is refused (otherwise identity,
// as promhttp answered, since identity is acceptable unless refused).
func TestGzip(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"x-gzip", true},
		{"gzip, deflate, br", true},
		{"deflate, gzip;q=0.5", true},
		{"gzip;q=0", false},
		{"gzip; q=0", false},
		{"gzip;Q=0.000", false},
		{"gzip;level=1;q=0", false}, // q not first
		{"gzip ; level=1 ; q = 0", false},
		{"gzip;q=0.001", true},
		{"gzip;q=bogus", false}, // a weight that does not parse
		{"gzip;q=1.5", false},   // outside 0..1
		{"gzip;q=0, *", false},  // "*" does not undo a refusal
		{"*", false},            // identity is acceptable: kept
		{"*;q=0.5", false},
		{"identity;q=0, *", true}, // "*" covers gzip, identity refused
		{"*;q=0, gzip", true},
		{"*;q=0", false}, // nothing acceptable: identity, RFC's SHOULD
		{"identity;q=0, *;q=0", false},
		{"identity;q=0, gzip;q=0, *", false},
		{"identity", false},
		{"br", false},
		{"gzipx, xgzip", false},
		{",,gzip,", true},
		{"gzip, gzip;q=0", false}, // named twice: the refusal stands
		{"gzip;q=0.5, gzip", true},
	} {
		assert.Equal(t, tc.want, Gzip(tc.header), "Accept-Encoding: %q", tc.header)
	}
}
