package httpcache

import (
	"net/http"
	"testing"
)

// Response and request fields are hostile: no input panics, and the
// parsers keep to their bounds.
func FuzzFieldParsers(f *testing.F) {
	f.Add("max-age=60, s-maxage=\"30\", private=\"a,b\"", `W/"x", "y"`, "Accept, Cookie", "a b,c")
	f.Add("max-age=99999999999999999999", "*", "*", "")
	f.Add("no-store,,,=,\"", `"unterminated`, "bad header", "\t")
	f.Fuzz(func(t *testing.T, cc, inm, vary, tags string) {
		h := http.Header{"Cache-Control": {cc}, "Vary": {vary}}
		d := parseDirectives(h)
		if d.maxAge > maxDeltaSeconds*1e9 || d.sMaxAge > maxDeltaSeconds*1e9 {
			t.Fatalf("delta-seconds over the cap: %v", d)
		}
		names, _, _ := parseVary(h)
		if len(names) > maxVaryNames {
			t.Fatalf("%d vary names", len(names))
		}
		_ = ifNoneMatch([]string{inm}, `"etag"`)
		got, ok := parseTags([]string{tags})
		if ok && len(got) > maxTags {
			t.Fatalf("%d tags", len(got))
		}
		_, _ = nextMember(cc)
	})
}
