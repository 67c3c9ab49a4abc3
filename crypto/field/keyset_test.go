package field

import (
	"bytes"
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

// Issue #16 item 4: encoding/json matches member names case-insensitively and
// lets a later duplicate win, so `"PRIMARY": 2` after `"primary": 1` silently
// changed the primary key; unknown members, an index key equal to a data key
// and one key under two ids were accepted too.
func TestParseKeysetIsStrict(t *testing.T) {
	ks := &Keyset{Primary: 1, Keys: []Key{fixedKey(1, 0, 1), fixedKey(2, 0, 2)}, IndexKey: indexKey(9)}
	good, err := MarshalKeyset(ks)
	require.NoError(t, err)
	doc := string(good)
	material1 := base64.StdEncoding.EncodeToString(ks.Keys[0].Material.Reveal())
	material2 := base64.StdEncoding.EncodeToString(ks.Keys[1].Material.Reveal())
	index := base64.StdEncoding.EncodeToString(ks.IndexKey.Reveal())

	cases := map[string]struct{ data, want string }{
		"case-variant duplicate": {strings.Replace(doc, `"primary": 1,`, `"primary": 1, "PRIMARY": 2,`, 1),
			`members "primary" and "PRIMARY" of the key ring file differ only in case`},
		"case variant alone": {strings.Replace(doc, `"primary": 1,`, `"Primary": 1,`, 1),
			`unknown member "Primary" in the key ring file (allowed, case-sensitive: format, primary, keys, index_key)`},
		"exact duplicate": {strings.Replace(doc, `"primary": 1,`, `"primary": 1, "primary": 2,`, 1),
			`member "primary" appears twice in the key ring file`},
		"unknown member": {strings.Replace(doc, `"primary": 1,`, `"primary": 1, "comment": "x",`, 1),
			`unknown member "comment" in the key ring file`},
		"unknown key member": {strings.Replace(doc, `"id": 2,`, `"id": 2, "note": {"a": [1]},`, 1),
			`unknown member "note" in keys[1]`},
		"key member case variant": {strings.Replace(doc, `"material": "`+material2, `"material": "`+material2+`", "Material": "`+material1, 1),
			`members "material" and "Material" of keys[1] differ only in case`},
		"index key is a data key": {strings.Replace(doc, index, material2, 1),
			`index_key is the material of key 2; the blind-index key must differ from every data key`},
		"one key under two ids": {strings.Replace(doc, material2, material1, 1),
			`keys 1 and 2 hold the same material`},
		"trailing data":  {doc + `{}`, "data after the JSON object"},
		"wrong type":     {strings.Replace(doc, `"primary": 1`, `"primary": "1"`, 1), `member "primary" must be a JSON number, not string`},
		"keys not array": {strings.Replace(doc, `"keys": [`, `"keys": {"x": [`, 1), "not a key ring file"},
		"deep nesting":   {strings.Replace(doc, `"primary": 1`, `"primary": `+strings.Repeat("[", 20)+strings.Repeat("]", 20), 1), "nested too deeply"},
	}
	for name, c := range cases {
		_, err := ParseKeyset([]byte(c.data))
		require.ErrorIs(t, err, ErrKeyset, name)
		assert.ErrorContains(t, err, c.want, name)
		for _, m := range []string{material1, material2, index} {
			assert.NotContains(t, err.Error(), m[:12], name+": errors never quote key material")
		}
	}
	_, err = ParseKeyset(good)
	require.NoError(t, err)

	// The same checks refuse to write such a key set.
	dup := &Keyset{Primary: 1, Keys: []Key{fixedKey(1, 0, 1), fixedKey(2, 0, 1)}, IndexKey: indexKey(9)}
	_, err = MarshalKeyset(dup)
	assert.ErrorContains(t, err, "keys 1 and 2 hold the same material")
	sameIndex := &Keyset{Primary: 1, Keys: []Key{fixedKey(1, 0, 1)}, IndexKey: NewSecret(bytes.Repeat([]byte{1}, KeySize))}
	_, err = MarshalKeyset(sameIndex)
	assert.ErrorContains(t, err, "index_key is the material of key 1")
}

// A member name long enough to be key material is not quoted in errors.
func TestParseKeysetDoesNotQuoteLongMemberNames(t *testing.T) {
	ks, err := GenerateKeyset(0)
	require.NoError(t, err)
	good, err := MarshalKeyset(ks)
	require.NoError(t, err)
	material := base64.StdEncoding.EncodeToString(ks.Keys[0].Material.Reveal())
	bad := strings.Replace(string(good), `"primary": 1,`, `"primary": 1, "`+material+`": 1,`, 1)
	_, err = ParseKeyset([]byte(bad))
	require.ErrorIs(t, err, ErrKeyset)
	assert.ErrorContains(t, err, "unknown member (a name of 44 characters)")
	assert.NotContains(t, err.Error(), material[:12])
}
