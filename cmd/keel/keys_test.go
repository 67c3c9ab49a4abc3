package main

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keel-go/keel/crypto/field"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keel runs the CLI in-process and returns exit code, stdout and stderr.
func keel(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// materials returns every base64 key material in a key ring file.
func materials(t *testing.T, path string) []string {
	t.Helper()
	ks, err := field.ReadKeysetFile(path)
	require.NoError(t, err)
	var m []string
	for _, k := range ks.Keys {
		m = append(m, base64.StdEncoding.EncodeToString(k.Material.Reveal()))
	}
	return append(m, base64.StdEncoding.EncodeToString(ks.IndexKey.Reveal()))
}

func TestKeysLifecycle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")

	code, out, errOut := keel("keys", "generate", "-file", path)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "primary key 1 (xchacha20-poly1305)")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	allOutput := out

	code, _, errOut = keel("keys", "generate", "-file", path)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "exists; use keel keys rotate")

	ks, err := field.ReadKeysetFile(path)
	require.NoError(t, err)
	ring1, err := ks.Ring()
	require.NoError(t, err)
	ct, err := ring1.Encrypt([]byte("v"), nil)
	require.NoError(t, err)

	code, out, errOut = keel("keys", "rotate", "-file", path, "-stage", "-algorithm", "aes-256-gcm")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "added key 2 (aes-256-gcm), not primary; primary is still key 1")
	allOutput += out
	code, out, errOut = keel("keys", "promote", "-file", path, "-id", "2")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "key 2 is now primary")
	allOutput += out
	code, out, errOut = keel("keys", "rotate", "-file", path)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "added key 3 (xchacha20-poly1305) as primary")
	allOutput += out

	code, out, errOut = keel("keys", "list", "-file", path)
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `(?m)^1\s+xchacha20-poly1305\s+\S+\s+decrypt only$`, out)
	assert.Regexp(t, `(?m)^3\s+xchacha20-poly1305\s+\S+\s+primary$`, out)
	allOutput += out

	ks, err = field.ReadKeysetFile(path)
	require.NoError(t, err)
	ring3, err := ks.Ring()
	require.NoError(t, err)
	pt, err := ring3.Decrypt(ct, nil)
	require.NoError(t, err, "values under the first key still decrypt after two rotations")
	assert.Equal(t, "v", string(pt))

	code, _, errOut = keel("keys", "retire", "-file", path, "-id", "3")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "is primary")
	code, out, errOut = keel("keys", "retire", "-file", path, "-id", "1")
	require.Equal(t, 0, code, errOut)
	allOutput += out + errOut

	for _, m := range materials(t, path) {
		assert.NotContains(t, allOutput, m, "no command prints key material unless asked")
	}
	code, out, _ = keel("keys", "list", "-file", path, "-reveal")
	require.Equal(t, 0, code)
	for _, m := range materials(t, path) {
		assert.Contains(t, out, m, "-reveal prints it")
	}
}

func TestKeysUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"keys", "generate"}, 2, "-file is required"},
		{[]string{"keys", "generate", "-file", filepath.Join(dir, "k"), "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"keys", "generate", "-file", filepath.Join(dir, "k"), "-algorithm", "rot13"}, 1, `unknown algorithm "rot13"`},
		{[]string{"keys", "rotate", "-file", filepath.Join(dir, "missing")}, 1, "no such file"},
		{[]string{"keys", "list", "-nope"}, 2, "flag provided but not defined"},
		{[]string{"keys", "promote", "-file", filepath.Join(dir, "k")}, 2, "-id must be a key ID"},
		{[]string{"keys", "retire", "-file", filepath.Join(dir, "k"), "-id", "4294967296"}, 2, "-id must be a key ID"},
	}
	for _, c := range cases {
		code, _, errOut := keel(c.args...)
		assert.Equal(t, c.code, code, strings.Join(c.args, " "))
		assert.Contains(t, errOut, c.want, strings.Join(c.args, " "))
	}
	loose := filepath.Join(dir, "loose.json")
	code, _, _ := keel("keys", "generate", "-file", loose)
	require.Equal(t, 0, code)
	require.NoError(t, os.Chmod(loose, 0o644))
	code, _, errOut := keel("keys", "list", "-file", loose)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "chmod 600")
}
