package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStartupErrorsSpeakInFlags starts the binary's run with one bad flag
// value at a time: each is refused in one line that names the flag, never
// a Go field of app.Config (issue 17: "errors speak in its flags").
func TestStartupErrorsSpeakInFlags(t *testing.T) {
	t.Setenv("SALESAPI_API_KEYS", "test-admin-key-0123456789=admin")
	t.Setenv("SALESAPI_DB_URL", "")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-rate-limit", "-1"}, 2, "-rate-limit must be >= 0"},
		{[]string{"-rate-limit-hour", "-5"}, 2, "-rate-limit-hour must be >= 0"},
		{[]string{"-ip-rate-limit", "-1"}, 2, "-ip-rate-limit must be >= 0"},
		{[]string{"-instances", "-2"}, 2, "-instances must be >= 0"},
		{[]string{"-slow-query", "-1s"}, 2, "-slow-query must be >= 0"},
		{[]string{"-breaker-open", "-1s"}, 2, "-breaker-open must be >= 0"},
		{[]string{"-backup-every", "-1h"}, 2, "-backup-every must be >= 0"},
		{[]string{"-idempotency-lease", "1s"}, 2, "-idempotency-lease must be at least 10s"},
		{[]string{"-idempotency-store", "redis"}, 2, "-idempotency-store redis needs -redis"},
		{[]string{"-rate-limit-redis-down", "sometimes"}, 2, "-rate-limit-redis-down must be local, open or closed"},
		{[]string{"-gateway-failure-rate", "2"}, 2, "-gateway-failure-rate must be in [0,1]"},
		{[]string{"-gateway-latency", "2m"}, 2, "-gateway-latency must be at most 1m"},
		{[]string{"-log-level", "loud"}, 1, "-log-level"},
		{[]string{"-audit-accept-rollback", "x:1:y", "-audit-accept-reason", "test"}, 1, "-audit-accept-rollback must be LOG:SEQ:HASH"},
		// Refused by app.New, whose errors name its Config fields.
		{[]string{"-redis", "127.0.0.1:1", "-rate-limit", "100000000"}, 1, "-rate-limit of 100000000 per minute is finer than the Redis rate limiter keeps"},
		{[]string{"-redis", "127.0.0.1:1", "-rate-limit-hour", "4000000000"}, 1, "-rate-limit-hour of 4000000000 per hour"},
		{[]string{"-instance-name", strings.Repeat("n", 300)}, 1, "-instance-name must be at most 255 bytes"},
		{[]string{"-data", ""}, 1, "-data"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			args := append([]string{"-addr", "127.0.0.1:0", "-data", t.TempDir()}, c.args...)
			var stdout, stderr bytes.Buffer
			code := run(args, &stdout, &stderr)
			assert.Equal(t, c.code, code, "%s", stderr.String())
			var plain []string
			for line := range strings.Lines(stderr.String()) {
				if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "{") {
					plain = append(plain, line)
				}
			}
			require.NotEmpty(t, plain, "an error line")
			last := plain[len(plain)-1]
			assert.Contains(t, last, c.want)
			assert.NotContains(t, stderr.String(), "Config.", "a Go field name reached the user")
			assert.NotContains(t, last, "salesapi: salesapi:", "one prefix")
		})
	}
}

// TestSlowQueryFlag: -slow-query 0 turns the slow-query log off (the
// app's negative threshold); any other value is the threshold itself.
func TestSlowQueryFlag(t *testing.T) {
	o, err := parseFlags(nil, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, 250*time.Millisecond, slowQueryThreshold(o.slowQuery), "default")
	o, err = parseFlags([]string{"-slow-query", "0"}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Negative(t, slowQueryThreshold(o.slowQuery), "0 is off")
	o, err = parseFlags([]string{"-slow-query", "1ns"}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, time.Nanosecond, slowQueryThreshold(o.slowQuery))
}
