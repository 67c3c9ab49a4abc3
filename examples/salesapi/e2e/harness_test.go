// Package e2e proves the sales API's promises from the outside: each test
// builds and starts the real binary, talks to it over HTTP, and inspects what
// it leaves on disk.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// binary is the sales API and keelCLI the operator's tool, built once for
// every test in the package.
var binary, keelCLI string

func TestMain(m *testing.M) {
	// Every test but one runs in parallel (t.Parallel), and they wait on
	// the service, not the CPU: a breaker's open spell, retries' back-off,
	// the restarts of a kill storm. So up to 8 run at once unless -parallel
	// says otherwise (the default, GOMAXPROCS, is 2 on a 2-core machine);
	// run one at a time with -parallel 1.
	flag.Parse()
	parallelGiven := false
	flag.Visit(func(f *flag.Flag) { parallelGiven = parallelGiven || f.Name == "test.parallel" })
	if !parallelGiven {
		_ = flag.Set("test.parallel", "8")
	}
	// A run of benchmarks alone (-run '^$', as CI's every-benchmark-once
	// step) runs no test here, so nothing needs the binaries.
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() == "^$" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "salesapi-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary, keelCLI = filepath.Join(dir, "salesapi"), filepath.Join(dir, "keel")
	for out, pkg := range map[string]string{binary: "..", keelCLI: "../../../cmd/keel"} {
		build := exec.Command("go", "build", "-o", out, pkg)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		// KEEL_E2E_GO names the go command that builds the binaries. CI sets
		// it to the oldest Go's (go.mod's go line), whose compile of every
		// dependency its build step has made already, so the binaries are
		// only linked here and are what a user on that Go builds. The go
		// command that runs this test puts its own GOROOT in the environment,
		// which the other one must not inherit. Unset, the go command on PATH
		// builds them.
		if goCmd := os.Getenv("KEEL_E2E_GO"); goCmd != "" {
			build.Path, build.Args[0] = goCmd, goCmd
			build.Env = append(withoutVar(os.Environ(), "GOROOT"), "GOTOOLCHAIN=local")
		}
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: building", pkg+":", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// withoutVar returns env without the variable name.
func withoutVar(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// instance is one running sales API process.
type instance struct {
	t       *testing.T
	cmd     *exec.Cmd
	URL     string
	DataDir string
	Admin   string // admin API key
	Sales   string // sales API key
	mu      sync.Mutex
	output  bytes.Buffer // everything the process printed (stdout and stderr)
	exited  chan struct{}
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

// Fixed development keys, given through SALESAPI_API_KEYS as a deployment would.
const (
	adminKey = "e2e-admin-key-0123456789abcdef"
	salesKey = "e2e-sales-key-0123456789abcdef"
)

// start runs the binary with the data directory and extra flags, and waits
// until it listens.
func start(t *testing.T, dataDir string, b backend, extra ...string) *instance {
	t.Helper()
	args := append([]string{"-addr", "127.0.0.1:0", "-data", dataDir}, b.flags...)
	cmd := exec.Command(binary, append(args, extra...)...)
	cmd.Env = append(os.Environ(), "SALESAPI_API_KEYS="+adminKey+"=admin,"+salesKey+"=sales")
	if b.dbURL != "" {
		cmd.Env = append(cmd.Env, "SALESAPI_DB_URL="+b.dbURL)
	}
	in := &instance{t: t, cmd: cmd, DataDir: dataDir, Admin: adminKey, Sales: salesKey, exited: make(chan struct{})}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	require.NoError(t, cmd.Start())
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			in.mu.Lock()
			in.output.WriteString(line + "\n")
			in.mu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		_ = pw.Close()
		close(in.exited)
	}()
	t.Cleanup(func() { in.Stop() })
	select {
	case in.URL = <-found:
	case <-in.exited:
		t.Fatalf("sales API exited before listening:\n%s", in.Output())
	case <-time.After(60 * time.Second):
		t.Fatalf("sales API did not listen within 60s:\n%s", in.Output())
	}
	return in
}

// Output is everything the process printed so far.
func (in *instance) Output() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.output.String()
}

// awaitLogRecord returns the first JSON log record of the output that
// match accepts, waiting up to limit for the process's output to reach
// the test (it is read on another goroutine), or nil.
func (in *instance) awaitLogRecord(limit time.Duration, match func(rec map[string]any) bool) map[string]any {
	deadline := time.Now().Add(limit)
	for {
		for line := range strings.Lines(in.Output()) {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && match(rec) {
				return rec
			}
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends the process gracefully (SIGTERM) and waits for it.
func (in *instance) Stop() {
	select {
	case <-in.exited:
		return
	default:
	}
	_ = in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.exited:
	case <-time.After(20 * time.Second):
		_ = in.cmd.Process.Kill()
		<-in.exited
	}
}

// Kill ends the process with SIGKILL, as a crash would.
func (in *instance) Kill() {
	_ = in.cmd.Process.Kill()
	<-in.exited
}

// response is an HTTP answer with its body read.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

// call sends a request with the given key (none when key is "") and headers.
func (in *instance) call(method, path, key string, body any, headers ...string) response {
	in.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		require.NoError(in.t, err)
		rd = bytes.NewReader(buf)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, in.URL+path, rd)
	require.NoError(in.t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(in.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(in.t, err)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func readAll(resp *http.Response) ([]byte, error) { return io.ReadAll(resp.Body) }
