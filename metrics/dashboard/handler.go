package dashboard

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"github.com/keel-go/keel/metrics/internal/acceptenc"
	"html/template"
	"math"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed style.css
var styleCSS string

// assets are the files the page loads: its script, and uPlot, the charting
// library, vendored by web/build.sh from web/package-lock.json.
//
//go:embed assets
var assets embed.FS

//go:embed page.html.tmpl
var pageSource string

var (
	pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
		"num":     formatNumber,
		"pct":     formatPercent,
		"secs":    formatSeconds,
		"bytes":   formatBytes,
		"spark":   sparkline,
		"state":   stateClass,
		"verify":  verifyClass,
		"clock":   func(t time.Time) string { return t.UTC().Format("15:04:05 UTC") },
		"css":     func() template.CSS { return template.CSS(styleCSS) },
		"refresh": func(s Snapshot) int { return max(1, int(s.IntervalSeconds)) },
		"sri":     func(name string) string { return pageAssets[name].integrity },
	}).Parse(pageSource))

	// The page's only inline content is its style element, allowed by its
	// hash; scripts, uPlot's style sheet and the API's answers come from
	// the service itself ('self'), never inline, never from elsewhere.
	contentSecurityPolicy = func() string {
		sum := sha256.Sum256([]byte(styleCSS))
		return "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'sha256-" +
			base64.StdEncoding.EncodeToString(sum[:]) +
			"'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	}()

	pageAssets = loadAssets()
)

// asset is one embedded file the handler serves under <mount>/assets/.
type asset struct {
	body        []byte
	contentType string
	etag        string
	integrity   string // Subresource Integrity value for the page's tags
}

// loadAssets indexes the embedded assets by file name; a file whose type
// the handler does not know is not served.
func loadAssets() map[string]asset {
	types := map[string]string{
		".js":      "text/javascript; charset=utf-8",
		".css":     "text/css; charset=utf-8",
		".LICENSE": "text/plain; charset=utf-8",
		".VERSION": "text/plain; charset=utf-8",
	}
	entries, err := assets.ReadDir("assets")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	out := make(map[string]asset, len(entries))
	for _, e := range entries {
		ct, ok := types[path.Ext(e.Name())]
		if !ok {
			continue
		}
		body, err := assets.ReadFile("assets/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum256, sum384 := sha256.Sum256(body), sha512.Sum384(body)
		out[e.Name()] = asset{
			body:        body,
			contentType: ct,
			etag:        `"` + hex.EncodeToString(sum256[:16]) + `"`,
			integrity:   "sha384-" + base64.StdEncoding.EncodeToString(sum384[:]),
		}
	}
	return out
}

// serveAsset answers <mount>/assets/NAME: the embedded file, revalidated by
// its ETag rather than stored (Cache-Control: no-cache), so a new binary's
// assets are picked up at once.
func serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := pageAssets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// ServeHTTP serves the page, the [Snapshot] as JSON when the path ends in
// "/api", and the page's embedded script and style sheets under
// ".../assets/". It answers 403 when Config.Authorize refuses the request, and
// 405 to methods other than GET and HEAD.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	if !d.cfg.Public && !d.cfg.Authorize(r) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if dir, name := path.Split(r.URL.Path); strings.HasSuffix(dir, "/assets/") {
		serveAsset(w, r, name)
		return
	}
	if strings.HasSuffix(r.URL.Path, "/api") {
		gzipped := acceptsGzip(r)
		body, err := d.api.document(d, time.Now(), gzipped)
		if err != nil {
			http.Error(w, "dashboard: encoding the snapshot failed", http.StatusInternalServerError)
			return
		}
		h.Set("Content-Type", "application/json")
		h.Set("Vary", "Accept-Encoding")
		if gzipped {
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
		return
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d.Snapshot()); err != nil {
		http.Error(w, "dashboard: rendering the page failed", http.StatusInternalServerError)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	_, _ = w.Write(buf.Bytes())
}

func formatNumber(n Number) string {
	if !n.Valid() {
		return "–"
	}
	f := float64(n)
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return fmt.Sprintf("%.0f", f)
	}
	return fmt.Sprintf("%.3g", f)
}

func formatPercent(n Number) string {
	if !n.Valid() {
		return "–"
	}
	return fmt.Sprintf("%.1f %%", 100*float64(n))
}

func formatSeconds(n Number) string {
	if !n.Valid() {
		return "–"
	}
	return time.Duration(float64(n) * float64(time.Second)).Round(10 * time.Microsecond).String()
}

func formatBytes(n Number) string {
	if !n.Valid() {
		return "–"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func verifyClass(result string) string {
	switch result {
	case "success":
		return "ok"
	case "failure":
		return "bad"
	}
	return "warn"
}

func stateClass(state string) string {
	switch state {
	case "closed", "pass":
		return "ok"
	case "half-open", "warn", "disabled":
		return "warn"
	default:
		return "bad"
	}
}

// sparkline returns the points attribute of a 120x24 SVG polyline; missing
// values break nothing, they are skipped.
func sparkline(values History) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range values {
		if v.Valid() {
			lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
		}
	}
	if math.IsInf(lo, 1) || len(values) < 2 {
		return ""
	}
	span := hi - lo
	if span == 0 {
		span = 1
	}
	var b strings.Builder
	for i, v := range values {
		if !v.Valid() {
			continue
		}
		x := 120 * float64(i) / float64(len(values)-1)
		y := 22 - 20*(float64(v)-lo)/span
		fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
	}
	return strings.TrimSpace(b.String())
}

// acceptsGzip reports whether the request's Accept-Encoding admits gzip,
// read as package metrics' /metrics handler reads it (acceptenc.Gzip).
func acceptsGzip(r *http.Request) bool {
	return acceptenc.Gzip(strings.Join(r.Header.Values("Accept-Encoding"), ","))
}
