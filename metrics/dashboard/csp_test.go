package dashboard_test

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/keel-go/keel/metrics/dashboard"
)

// The page's only inline content, its style element, is exactly what the
// Content-Security-Policy's hash allows; scripts may only come from the
// service itself, never inline, and nothing may be loaded from elsewhere.
func TestPagePolicyAllowsOnlyItsOwnStyleAndScripts(t *testing.T) {
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
	csp := rec.Header().Get("Content-Security-Policy")
	directives := map[string]string{}
	for d := range strings.SplitSeq(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	want := map[string]string{
		"default-src":     "'none'",
		"script-src":      "'self'",
		"connect-src":     "'self'",
		"style-src":       "'self' 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'",
		"img-src":         "'none'",
		"base-uri":        "'none'",
		"form-action":     "'none'",
		"frame-ancestors": "'none'",
	}
	for name, value := range want {
		if directives[name] != value {
			t.Errorf("Content-Security-Policy %s = %q, want %q (policy %q)", name, directives[name], value, csp)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy allows something unsafe: %q", csp)
	}
	for _, bad := range []string{"style=\"", "http://", "https://", "//", "javascript:"} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if m := regexp.MustCompile(`\son[a-z]+=`).FindString(body); m != "" {
		t.Errorf("page has an inline event handler: %q", m)
	}
	if n := strings.Count(body, "<script"); n != 2 {
		t.Errorf("want 2 script elements (uPlot and the page's script), found %d", n)
	}
	if m := regexp.MustCompile(`<script[^>]*>[^<]+</script>`).FindString(body); m != "" {
		t.Errorf("inline script: %s", m)
	}
}

// assetRef is a src or href attribute of the page and its integrity value.
var assetRef = regexp.MustCompile(`<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]*)"[^>]*?\bintegrity="([^"]*)"`)

// Every file the page refers to is served by the handler itself, relative
// to the mount, with the integrity hash the page names, its own content
// type and nosniff, and is revalidated rather than cached blindly.
func TestPageAssetsAreServedWithTheirIntegrity(t *testing.T) {
	d, err := dashboard.New(dashboard.Config{Public: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	body := getPage(t, d).Body.String()
	refs := assetRef.FindAllStringSubmatch(body, -1)
	if len(refs) != 3 || strings.Count(body, " src=")+strings.Count(body, " href=") != 3 {
		t.Fatalf("want 3 references with integrity (uPlot's script and style sheet, the page's script), found %q in\n%s", refs, body)
	}
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	for _, ref := range refs {
		url, integrity := html.UnescapeString(ref[1]), html.UnescapeString(ref[2])
		if !strings.HasPrefix(url, "assets/") {
			t.Errorf("%s is not relative to the mount's assets/", url)
			continue
		}
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/dashboard/"+url, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("%s answered %d", url, rec.Code)
			continue
		}
		sum := sha512.Sum384(rec.Body.Bytes())
		if want := "sha384-" + base64.StdEncoding.EncodeToString(sum[:]); integrity != want {
			t.Errorf("%s: page says integrity %s, body hashes to %s", url, integrity, want)
		}
		h := rec.Header()
		if got, want := h.Get("Content-Type"), types[filepath.Ext(url)]; got != want {
			t.Errorf("%s: Content-Type %q, want %q", url, got, want)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-cache" || h.Get("ETag") == "" {
			t.Errorf("%s: headers %v, want nosniff, no-cache and an ETag", url, h)
		}
		again := httptest.NewRequest(http.MethodGet, "/admin/dashboard/"+url, nil)
		again.Header.Set("If-None-Match", h.Get("ETag"))
		rec = httptest.NewRecorder()
		d.ServeHTTP(rec, again)
		if rec.Code != http.StatusNotModified {
			t.Errorf("%s with its ETag answered %d, want 304", url, rec.Code)
		}
	}
	for _, missing := range []string{"assets/nothing.js", "assets/", "assets/../page.html.tmpl"} {
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/dashboard/"+missing, nil))
		if strings.Contains(rec.Body.String(), "{{") || (rec.Code == http.StatusOK && rec.Header().Get("Content-Type") != "text/html; charset=utf-8") {
			t.Errorf("%s answered %d %q", missing, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
}

// The API's answers are never cached and never sniffed.
func TestAPIAnswersAreNotCached(t *testing.T) {
	d, err := dashboard.New(dashboard.Config{Public: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/dashboard/api", nil))
	h := rec.Header()
	if rec.Code != http.StatusOK || h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" ||
		h.Get("Content-Type") != "application/json" {
		t.Errorf("api answered %d with %v", rec.Code, h)
	}
}

// maxPageBytes is the budget for everything the page loads.
const maxPageBytes = 200 << 10

// The page and every asset it loads weigh under 200 KB together, and the
// vendored uPlot keeps its license beside it.
func TestPageWeighsUnderBudget(t *testing.T) {
	d, err := dashboard.New(dashboard.Config{Public: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	body := getPage(t, d).Body.String()
	total := len(body)
	for _, ref := range assetRef.FindAllStringSubmatch(body, -1) {
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/dashboard/"+ref[1], nil))
		total += rec.Body.Len()
	}
	t.Logf("page and assets: %d bytes", total)
	if total > maxPageBytes || total < 50<<10 { // uPlot alone is ~50 KB: fewer means an asset was not served
		t.Errorf("page and assets weigh %d bytes, want between 50 KiB and %d", total, maxPageBytes)
	}
	license, err := os.ReadFile("assets/uPlot.LICENSE")
	if err != nil || !strings.Contains(string(license), "The MIT License") {
		t.Errorf("assets/uPlot.LICENSE is not uPlot's MIT license: %v", err)
	}
	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/dashboard/assets/uPlot.LICENSE", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != string(license) {
		t.Errorf("the license is not served beside the library: %d", rec.Code)
	}
}

// The page's own script fetches nothing but the API and the page, and
// writes nothing to the console.
func TestPageScriptStaysInsideTheService(t *testing.T) {
	src, err := os.ReadFile("assets/dashboard.js")
	if err != nil {
		t.Fatal(err)
	}
	js := string(src)
	for _, bad := range []string{"http:", "https:", "console.", "eval(", "innerHTML", "document.write", "new Function"} {
		if strings.Contains(js, bad) {
			t.Errorf("assets/dashboard.js contains %q", bad)
		}
	}
	var fetched []string
	for _, m := range regexp.MustCompile(`\bget\(([^,)]*)`).FindAllStringSubmatch(js, -1) {
		fetched = append(fetched, m[1])
	}
	slices.Sort(fetched)
	if want := []string{`"api"`, "page", "url"}; !slices.Equal(fetched, want) { // url: get's own parameter
		t.Errorf("assets/dashboard.js fetches %q, want the page and \"api\" only", fetched)
	}
	if strings.Count(js, "fetch(") != 1 {
		t.Errorf("assets/dashboard.js calls fetch %d times, want once (in get)", strings.Count(js, "fetch("))
	}
}
