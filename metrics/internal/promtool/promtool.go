// Package promtool finds the Prometheus promtool binary for tests.
package promtool

import (
	"os"
	"os/exec"
	"testing"
)

// Path returns promtool's path. Without it the test skips, naming the
// Debian package; with CI=true (where CI installs it) the test fails.
func Path(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("promtool not found with CI=true (install the Debian package prometheus): %v", err)
		}
		tb.Skipf("promtool not installed (Debian package prometheus): %v", err)
	}
	return path
}
