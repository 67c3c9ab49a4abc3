package tool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// defaultPath is the search path a tool gets when this process has none.
const defaultPath = "/usr/local/bin:/usr/bin:/bin"

// Env returns a minimal environment for a tool: PATH, HOME, TMPDIR and the
// locale (LANG, LANGUAGE, LC_*) of this process, those of its variables
// whose names allow accepts (the non-secret settings of the tool, such as
// PGSSLMODE), then extra, which override the rest.
//
// Nothing else of this process's environment reaches the tool: a service's
// environment holds its API keys and database URLs, and /proc/<pid>/environ
// of a child is readable by every process of the same user (and by root).
// HOME is kept so that the tools find their own configuration (~/.pgpass,
// ~/.my.cnf, ~/.postgresql/root.crt) as they would when run by hand.
func Env(allow func(name string) bool, extra ...string) []string {
	out := make([]string, 0, 8+len(extra))
	seen := map[string]bool{}
	add := func(kv string) {
		name, _, _ := strings.Cut(kv, "=")
		if !seen[name] {
			seen[name] = true
			out = append(out, kv)
		}
	}
	// extra first, so that it wins over what this process has.
	for _, kv := range extra {
		add(kv)
	}
	for _, kv := range os.Environ() {
		name, _, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		switch {
		case name == "PATH", name == "HOME", name == "TMPDIR", name == "LANG", name == "LANGUAGE",
			strings.HasPrefix(name, "LC_"):
			add(kv)
		case allow != nil && allow(name):
			add(kv)
		}
	}
	if !seen["PATH"] {
		add("PATH=" + defaultPath)
	}
	return out
}

// SecretDir is a private temporary directory (0700) for the files that
// carry a tool's secrets (a pgpass file, a MySQL defaults file): files
// rather than arguments or environment, because /proc shows both of those
// to other local processes.
type SecretDir struct {
	dir string
}

// NewSecretDir creates the directory under os.TempDir().
func NewSecretDir(prefix string) (*SecretDir, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, fmt.Errorf("secret directory: %w", err)
	}
	// MkdirTemp makes it 0700 already; say so explicitly in case of an
	// unusual umask handling.
	if err := os.Chmod(dir, 0o700); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("secret directory: %w", err)
	}
	return &SecretDir{dir: dir}, nil
}

// Write creates name in the directory with mode 0600 and returns its path.
// It refuses to overwrite: a file that already exists was not made by us.
func (s *SecretDir) Write(name string, data []byte) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\`) {
		return "", errors.New("secret file: bad name")
	}
	p := filepath.Join(s.dir, name)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	return p, nil
}

// Remove deletes the directory and everything in it. Callers defer it, so
// that the secrets go when the tool ends, also on failure or cancellation.
func (s *SecretDir) Remove() error { return os.RemoveAll(s.dir) }
