// Package s3test starts a real S3-compatible server for integration tests
// of code that uses backup/s3: versitygw on loopback, with a posix backend
// in the test's temporary directory, as net/http/httptest starts an HTTP
// server. It skips the test when versitygw is not installed, or fails it
// when CI=true.
package s3test

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/keel-go/keel/internal/testenv"
)

// Server is a running versitygw.
type Server struct {
	Endpoint, Bucket, AccessKeyID, SecretAccessKey string
}

// Start runs versitygw for tb with one empty bucket, or skips tb (fails it
// with CI=true) when versitygw is not installed. It stops with tb.
func Start(tb testing.TB) Server {
	tb.Helper()
	bin := find()
	if bin == "" {
		if testenv.InCI() {
			tb.Fatal("versitygw is required when CI=true: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
		}
		tb.Skip("skipping: versitygw not installed (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	root := tb.TempDir()
	s := Server{Endpoint: addr, Bucket: "keel-backups", AccessKeyID: "keeltest", SecretAccessKey: "keeltest-secret-key"}
	if err := os.Mkdir(filepath.Join(root, s.Bucket), 0o755); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "--port", addr, "posix", root)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.AccessKeyID, "ROOT_SECRET_KEY="+s.SecretAccessKey)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return s
		}
		if time.Now().After(deadline) {
			tb.Fatalf("versitygw did not start: %s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// find looks in PATH, then where go install puts binaries.
func find() string {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	for _, d := range []string{os.Getenv("GOBIN"), os.Getenv("GOPATH"), filepath.Join(home, "go")} {
		if d == "" {
			continue
		}
		for _, p := range []string{filepath.Join(d, "versitygw"), filepath.Join(d, "bin", "versitygw")} {
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p
			}
		}
	}
	return ""
}
