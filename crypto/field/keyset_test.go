package field

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeysetFileRoundTripAndRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	ks, err := GenerateKeyset(0)
	require.NoError(t, err)
	require.NoError(t, WriteKeysetFile(path, ks))

	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	loaded, err := ReadKeysetFile(path)
	require.NoError(t, err)
	assert.Equal(t, uint32(1), loaded.Primary)
	require.Len(t, loaded.Keys, 1)
	assert.Equal(t, ks.Keys[0].Material.Reveal(), loaded.Keys[0].Material.Reveal())
	assert.Equal(t, ks.IndexKey.Reveal(), loaded.IndexKey.Reveal())
	assert.Equal(t, XChaCha20Poly1305, loaded.Keys[0].Algorithm)

	r1, err := loaded.Ring()
	require.NoError(t, err)
	ct, err := r1.Encrypt([]byte("v"), nil)
	require.NoError(t, err)

	// Stage, then promote, then retire: the runbook's three steps.
	k2, err := loaded.Rotate(AES256GCM, false)
	require.NoError(t, err)
	assert.Equal(t, uint32(2), k2.ID)
	assert.Equal(t, uint32(1), loaded.Primary)
	require.NoError(t, loaded.Promote(2))
	require.NoError(t, WriteKeysetFile(path, loaded))
	again, err := ReadKeysetFile(path)
	require.NoError(t, err)
	r2, err := again.Ring()
	require.NoError(t, err)
	assert.Equal(t, uint32(2), r2.PrimaryID())
	pt, err := r2.Decrypt(ct, nil)
	require.NoError(t, err)
	assert.Equal(t, "v", string(pt))

	assert.ErrorIs(t, again.Retire(2), ErrKeyset, "the primary cannot be retired")
	assert.ErrorIs(t, again.Retire(9), ErrKeyset)
	assert.ErrorIs(t, again.Promote(9), ErrKeyset)
	require.NoError(t, again.Retire(1))
	k3, err := again.Rotate(0, true)
	require.NoError(t, err)
	assert.Equal(t, uint32(3), k3.ID, "IDs are never reused")

	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left behind")
}

func TestReadKeysetFileRefusesLooseMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	ks, err := GenerateKeyset(0)
	require.NoError(t, err)
	require.NoError(t, WriteKeysetFile(path, ks))
	require.NoError(t, os.Chmod(path, 0o644))
	_, err = ReadKeysetFile(path)
	require.ErrorIs(t, err, ErrKeyset)
	assert.Contains(t, err.Error(), "mode 0644")
}

func TestParseKeysetErrorsNeverQuoteMaterial(t *testing.T) {
	ks, err := GenerateKeyset(0)
	require.NoError(t, err)
	good, err := MarshalKeyset(ks)
	require.NoError(t, err)
	material := base64.StdEncoding.EncodeToString(ks.Keys[0].Material.Reveal())
	require.Contains(t, string(good), material)

	cases := map[string]string{
		"not json":        "{",
		"wrong format":    strings.Replace(string(good), "keel.field.keyset/v1", "other", 1),
		"short material":  strings.Replace(string(good), material, base64.StdEncoding.EncodeToString([]byte("short")), 1),
		"bad base64":      strings.Replace(string(good), material, material[:10]+"!!"+material[12:], 1),
		"bad algorithm":   strings.Replace(string(good), "xchacha20-poly1305", "rot13", 1),
		"primary missing": strings.Replace(string(good), `"primary": 1`, `"primary": 9`, 1),
		"no primary":      strings.Replace(string(good), `"primary": 1`, `"primary": 0`, 1),
	}
	for name, data := range cases {
		_, err := ParseKeyset([]byte(data))
		require.ErrorIs(t, err, ErrKeyset, name)
		assert.NotContains(t, err.Error(), material[:12], name)
	}
	_, err = ParseKeyset(good)
	require.NoError(t, err)
}
