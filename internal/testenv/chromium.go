package testenv

import (
	"os/exec"
	"testing"
)

// Chromium returns the path of the headless browser that the browser tests
// drive with chromedp (Debian package chromium; .ci/run installs it). When
// none is installed it skips tb, naming the package, or fails it when
// CI=true.
func Chromium(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if InCI() {
		tb.Fatal("testenv: chromium is required when CI=true but is not installed (Debian package chromium)")
	}
	tb.Skip("testenv: skipping: chromium is not installed (Debian package chromium)")
	return ""
}
