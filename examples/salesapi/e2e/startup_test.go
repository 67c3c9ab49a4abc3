package e2e

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/internal/testenv"
)

// A service that cannot start says why in one line and exits with status 1:
// no panic, no stack trace, no error split over lines.
func TestStartupErrorIsOneLineAndExitStatus1(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedPort := ln.Addr().String()
	require.NoError(t, ln.Close())

	cases := []struct {
		name  string
		env   []string
		args  []string
		wants []string // each must appear in the error line
	}{
		{
			name:  "database on a closed port",
			env:   []string{"SALESAPI_DB_URL=postgres://postgres@" + closedPort + "/test?sslmode=disable"},
			wants: []string{"store: connect", closedPort, "connection refused"},
		},
		{
			name:  "rate limit finer than the Redis limiter",
			args:  []string{"-redis", testenv.RedisPrefix(t).Addr, "-rate-limit", "100000000"},
			wants: []string{"Redis rate limiter", "100000000"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binary, append([]string{"-addr", "127.0.0.1:0", "-data", t.TempDir()}, tc.args...)...)
			cmd.Env = append(append(os.Environ(), "SALESAPI_API_KEYS="+adminKey+"=admin,"+salesKey+"=sales"), tc.env...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			require.True(t, errors.As(err, &exit), "the service must exit with an error, got %v\n%s", err, stderr.String())
			assert.Equal(t, 1, exit.ExitCode(), "stderr:\n%s", stderr.String())
			assert.NotContains(t, stderr.String(), "panic", "stderr:\n%s", stderr.String())
			assert.NotContains(t, stderr.String(), "goroutine ", "stderr:\n%s", stderr.String())

			// Everything but the JSON log lines is the one error line.
			var plain []string
			for line := range strings.Lines(stderr.String()) {
				if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "{") {
					plain = append(plain, line)
				}
			}
			require.Len(t, plain, 1, "one error line, got:\n%s", stderr.String())
			assert.True(t, strings.HasPrefix(plain[0], "salesapi: "), "%q", plain[0])
			for _, w := range tc.wants {
				assert.Contains(t, plain[0], w)
			}
		})
	}
}
