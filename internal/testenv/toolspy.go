package testenv

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// ToolCall is what one run of a spied program saw, read from its own
// /proc/<pid>/cmdline and /proc/<pid>/environ as it started.
type ToolCall struct {
	Program string
	Args    []string // argv, argv[0] being the wrapper
	Env     []string // NAME=value
	// Files are the files the program was pointed at through PGPASSFILE,
	// PGSERVICEFILE or --defaults-extra-file, with their mode and their
	// directory's mode in octal, as "path 600 700".
	Files []string
}

// Contains reports where secret appears in what the call saw: "argv",
// "environ", or "" when it appears nowhere.
func (c ToolCall) Contains(secret string) string {
	for _, a := range c.Args {
		if strings.Contains(a, secret) {
			return "argv"
		}
	}
	for _, e := range c.Env {
		if strings.Contains(e, secret) {
			return "environ"
		}
	}
	return ""
}

// Leaks says where each secret (by name) appears in what the call saw,
// raw or escaped as a URL carries it: one line per finding.
func (c ToolCall) Leaks(secrets map[string]string) []string {
	var out []string
	for name, s := range secrets {
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
			if where := c.Contains(form); where != "" {
				out = append(out, fmt.Sprintf("%s: the %s is in its %s", c.Program, name, where))
				break
			}
		}
	}
	return out
}

// ForeignEnv returns the names in the call's environment that are neither
// what every tool may get (PATH, HOME, TMPDIR, LANG, LANGUAGE, LC_*) nor
// in allowed.
func (c ToolCall) ForeignEnv(allowed ...string) []string {
	var out []string
	for _, kv := range c.Env {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "PATH", name == "HOME", name == "TMPDIR", name == "LANG", name == "LANGUAGE", strings.HasPrefix(name, "LC_"):
		case slices.Contains(allowed, name):
		default:
			out = append(out, name)
		}
	}
	return out
}

// ServiceEnv gives this process the environment of a service — an API
// key, a database URL with a password, and passwordVar (PGPASSWORD,
// MYSQL_PWD) — each derived from tag, and points TMPDIR at a fresh
// directory, for a test that checks none of it reaches a child. It returns
// the secrets by name (for ToolCall.Leaks) and the directory.
func ServiceEnv(tb testing.TB, tag, passwordVar string) (map[string]string, string) {
	tb.Helper()
	secrets := map[string]string{"API key": "sk-live-" + tag, "DATABASE_URL": "dburl-" + tag, passwordVar: "env-" + tag}
	tb.Setenv("KEEL_TEST_API_KEY", secrets["API key"])
	tb.Setenv("DATABASE_URL", "postgres://svc:"+secrets["DATABASE_URL"]+"@db/app")
	tb.Setenv(passwordVar, secrets[passwordVar])
	tmp := tb.TempDir()
	tb.Setenv("TMPDIR", tmp)
	return secrets, tmp
}

// spyScript records the process's own view of itself, then becomes the
// real program: exec keeps the pid, argv (after the shell's own) and
// environment, so what is recorded is what the program runs with. No
// polling of /proc, so no short-lived child is missed.
const spyScript = `#!/bin/sh
d=%[1]s/$$
mkdir -p "$d"
cat /proc/$$/cmdline > "$d/cmdline"
cat /proc/$$/environ > "$d/environ"
for f in "$PGPASSFILE" "$PGSERVICEFILE"; do
  [ -n "$f" ] && [ -e "$f" ] && echo "$f $(stat -c %%a "$f") $(stat -c %%a "$(dirname "$f")")" >> "$d/files"
done
for a in "$@"; do
  case "$a" in --defaults-extra-file=*)
    f="${a#*=}"; echo "$f $(stat -c %%a "$f") $(stat -c %%a "$(dirname "$f")")" >> "$d/files";;
  esac
done
exec %[2]s "$@"
`

// ToolSpy wraps real programs so that a test sees the argv and environment
// of every run. Point a driver's program paths (Config.PgDump …) at Path.
type ToolSpy struct {
	tb   testing.TB
	dir  string
	runs string
}

// NewToolSpy makes a spy directory for tb; it is removed when tb ends.
func NewToolSpy(tb testing.TB) *ToolSpy {
	tb.Helper()
	dir := tb.TempDir()
	s := &ToolSpy{tb: tb, dir: dir, runs: filepath.Join(dir, "runs")}
	if err := os.Mkdir(s.runs, 0o700); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return s
}

// Path returns the wrapper for program (looked up in PATH), creating it;
// the test is skipped if the program is not installed (failed in CI).
func (s *ToolSpy) Path(program string) string {
	s.tb.Helper()
	real, err := exec.LookPath(program)
	if err != nil {
		unavailable(s.tb, program, "PATH", "PATH", err)
	}
	w := filepath.Join(s.dir, program)
	if _, err := os.Stat(w); err == nil {
		return w
	}
	script := fmt.Sprintf(spyScript, s.runs+"/"+program, real)
	if err := os.WriteFile(w, []byte(script), 0o700); err != nil {
		s.tb.Fatalf("testenv: %v", err)
	}
	return w
}

// Calls returns every run recorded so far.
func (s *ToolSpy) Calls() []ToolCall {
	s.tb.Helper()
	var out []ToolCall
	progs, err := os.ReadDir(s.runs)
	if err != nil {
		s.tb.Fatalf("testenv: %v", err)
	}
	for _, p := range progs {
		pids, err := os.ReadDir(filepath.Join(s.runs, p.Name()))
		if err != nil {
			s.tb.Fatalf("testenv: %v", err)
		}
		for _, pid := range pids {
			d := filepath.Join(s.runs, p.Name(), pid.Name())
			c := ToolCall{Program: p.Name(), Args: nulFields(s.read(d, "cmdline")), Env: nulFields(s.read(d, "environ"))}
			if files := strings.TrimSpace(string(s.read(d, "files"))); files != "" {
				c.Files = strings.Split(files, "\n")
			}
			out = append(out, c)
		}
	}
	return out
}

func (s *ToolSpy) read(dir, name string) []byte {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil && !os.IsNotExist(err) {
		s.tb.Fatalf("testenv: %v", err)
	}
	return b
}

func nulFields(b []byte) []string {
	var out []string
	for _, f := range bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0}) {
		if len(f) > 0 {
			out = append(out, string(f))
		}
	}
	return out
}
