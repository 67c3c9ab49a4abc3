package tool_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/backup/internal/tool"
)

func envNames(env []string) []string {
	var names []string
	for _, kv := range env {
		n, _, _ := strings.Cut(kv, "=")
		names = append(names, n)
	}
	return names
}

func TestEnvKeepsOnlyTheBasicsAndWhatIsAllowed(t *testing.T) {
	t.Setenv("KEEL_TEST_API_KEY", "sk-live-secret")
	t.Setenv("DATABASE_URL", "postgres://app:pw@db/app")
	t.Setenv("PGPASSWORD", "pw")
	t.Setenv("PGSSLMODE", "verify-full")
	t.Setenv("LC_ALL", "C.UTF-8")
	env := tool.Env(func(n string) bool { return n == "PGSSLMODE" }, "PGPASSFILE=/tmp/x/pgpass")
	names := envNames(env)
	assert.Contains(t, names, "PATH")
	assert.Contains(t, names, "LC_ALL")
	assert.Contains(t, env, "PGSSLMODE=verify-full")
	assert.Contains(t, env, "PGPASSFILE=/tmp/x/pgpass")
	for _, secret := range []string{"KEEL_TEST_API_KEY", "DATABASE_URL", "PGPASSWORD"} {
		assert.NotContains(t, names, secret)
	}
	for _, kv := range env {
		assert.NotContains(t, kv, "secret")
		assert.NotContains(t, kv, ":pw@")
	}
	// Each name once, extra first.
	slices.Sort(names)
	assert.Equal(t, len(names), len(slices.Compact(slices.Clone(names))))
}

func TestEnvExtraOverridesThisProcess(t *testing.T) {
	t.Setenv("PGPASSFILE", "/home/app/.pgpass")
	env := tool.Env(func(n string) bool { return n == "PGPASSFILE" }, "PGPASSFILE=/tmp/ours")
	assert.Contains(t, env, "PGPASSFILE=/tmp/ours")
	assert.NotContains(t, env, "PGPASSFILE=/home/app/.pgpass")
}

func TestEnvWithoutPathGetsADefault(t *testing.T) {
	t.Setenv("PATH", "")
	require.NoError(t, os.Unsetenv("PATH"))
	env := tool.Env(nil)
	assert.Contains(t, env, "PATH=/usr/local/bin:/usr/bin:/bin")
}

func TestSecretDirIsPrivateAndRemoved(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	d, err := tool.NewSecretDir("keel-test-")
	require.NoError(t, err)
	p, err := d.Write("pgpass", []byte("*:*:*:*:pw\n"))
	require.NoError(t, err)
	st, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	dst, err := os.Stat(filepath.Dir(p))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), dst.Mode().Perm())
	_, err = d.Write("pgpass", []byte("again"))
	require.Error(t, err, "an existing file is never overwritten")
	_, err = d.Write("../escape", nil)
	require.Error(t, err)
	require.NoError(t, d.Remove())
	_, err = os.Stat(filepath.Dir(p))
	assert.True(t, os.IsNotExist(err))
}
