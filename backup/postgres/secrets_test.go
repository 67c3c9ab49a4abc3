package postgres

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The local server trusts 127.0.0.1 and never asks for the password, so
// the files' content is checked here: libpq's pgpass syntax (':'-separated,
// '\' escapes) and a service section carrying sslpassword.
func TestSessionFilesCarryTheSecrets(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	d, err := New(Config{DSN: `postgres://app:p%3Aw%5Cd@db:5433/sales?sslmode=verify-full&sslpassword=key%20pass`})
	require.NoError(t, err)
	s, err := d.newSession(d.conn)
	require.NoError(t, err)
	defer s.close()
	assert.Equal(t, "--dbname=postgres://app@db:5433/sales?service=keel&sslmode=verify-full", s.connArg)
	files := map[string]string{}
	for _, kv := range s.env {
		name, v, _ := strings.Cut(kv, "=")
		if name == "PGPASSFILE" || name == "PGSERVICEFILE" {
			b, err := os.ReadFile(v)
			require.NoError(t, err)
			files[filepath.Base(v)] = string(b)
		}
	}
	assert.Equal(t, map[string]string{
		"pgpass":          `*:*:*:*:p\:w\\d` + "\n",
		"pg_service.conf": "[keel]\nsslpassword=key pass\n",
	}, files)
	s.close()
	left, err := os.ReadDir(os.Getenv("TMPDIR"))
	require.NoError(t, err)
	assert.Empty(t, left)
}

func TestSessionTakesPGPASSWORDIntoTheFile(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	t.Setenv("PGPASSWORD", "from-env")
	d, err := New(Config{DSN: "postgres://app@db/sales"})
	require.NoError(t, err)
	s, err := d.newSession(d.conn)
	require.NoError(t, err)
	defer s.close()
	var passfile string
	for _, kv := range s.env {
		assert.False(t, strings.HasPrefix(kv, "PGPASSWORD="), "PGPASSWORD is not inherited")
		if v, ok := strings.CutPrefix(kv, "PGPASSFILE="); ok {
			passfile = v
		}
	}
	b, err := os.ReadFile(passfile)
	require.NoError(t, err)
	assert.Equal(t, "*:*:*:*:from-env\n", string(b))
}

func TestSessionWithoutSecretsWritesNothing(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	t.Setenv("PGPASSWORD", "")
	d, err := New(Config{DSN: "postgres://app@db/sales"})
	require.NoError(t, err)
	s, err := d.newSession(d.conn)
	require.NoError(t, err)
	defer s.close()
	assert.Nil(t, s.secrets)
	for _, kv := range s.env {
		assert.False(t, strings.HasPrefix(kv, "PGPASSFILE="))
	}
}

func TestNewRefusesSecretsThatCannotBeHandedOver(t *testing.T) {
	for _, dsn := range []string{
		"postgres://app:a%0Ab@db/sales",
		"postgres://app@db/sales?sslpassword=x%20",
		"postgres://app@db/sales?sslpassword=x&service=prod",
	} {
		_, err := New(Config{DSN: dsn})
		require.Error(t, err, dsn)
		assert.NotContains(t, err.Error(), "a\nb")
	}
}
