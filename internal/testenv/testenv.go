package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// pingTimeout bounds how long a helper waits for a service before deciding
// it is absent. Local services answer in milliseconds.
const pingTimeout = 3 * time.Second

// InCI reports whether the CI environment variable is "true", in which case
// an absent service fails the test rather than skipping it.
func InCI() bool { return os.Getenv("CI") == "true" }

// unavailable skips or fails tb because a service could not be reached.
// The message names the service, where it was looked for, and the variable
// that points the helper elsewhere.
func unavailable(tb testing.TB, service, where, envVar string, err error) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("testenv: %s is required when CI=true but is not reachable at %s: %v (start it, or set %s)",
			service, where, err, envVar)
	}
	tb.Skipf("testenv: skipping: %s not reachable at %s: %v (start it, or set %s to its address)",
		service, where, err, envVar)
}

// envOr returns the environment variable's value, or def when it is unset or empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

var unsafeIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// namespace returns a fresh identifier for tb: "keel_" plus a slug of the
// test's name plus 8 random hex digits, at most 60 characters, safe as an
// unquoted SQL identifier and as a Redis key prefix.
func namespace(tb testing.TB) string {
	slug := unsafeIdent.ReplaceAllString(strings.ToLower(tb.Name()), "_")
	slug = strings.Trim(slug, "_")
	if len(slug) > 38 {
		slug = slug[len(slug)-38:]
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatalf("testenv: crypto/rand: %v", err)
	}
	return "keel_" + slug + "_" + hex.EncodeToString(b[:])
}
