package dashboard_test

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/keel-go/keel/metrics/dashboard"
)

// The page's only inline content, its style element, is exactly what the
// Content-Security-Policy's hash allows, and the page has no script and
// loads nothing (no src or href attribute), so a browser applies the styles
// and fetches nothing else.
func TestPageStyleMatchesPolicyAndLoadsNothing(t *testing.T) {
	d, err := dashboard.New(dashboard.Config{Public: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rec := getPage(t, d)
	body := rec.Body.String()
	i, j := strings.Index(body, "<style>"), strings.Index(body, "</style>")
	if i < 0 || j < i || strings.Count(body, "<style") != 1 {
		t.Fatalf("want exactly one style element:\n%s", body)
	}
	sum := sha256.Sum256([]byte(body[i+len("<style>") : j]))
	want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, want) {
		t.Errorf("Content-Security-Policy %q does not allow the style element (%s)", csp, want)
	}
	for _, bad := range []string{"<script", " src=", " href=", "style=\"", "http://", "https://"} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
}
