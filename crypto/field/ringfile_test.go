package field

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRingFileReloadsWithoutDowntime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	ks, err := GenerateKeyset(0)
	require.NoError(t, err)
	require.NoError(t, WriteKeysetFile(path, ks))

	rf, err := OpenRingFile(path)
	require.NoError(t, err)
	assert.Equal(t, ks.IndexKey.Reveal(), rf.IndexKey().Reveal())
	var c Cipher = rf
	ct1, err := c.Encrypt([]byte("v1"), nil)
	require.NoError(t, err)

	_, err = ks.Rotate(0, true)
	require.NoError(t, err)
	require.NoError(t, WriteKeysetFile(path, ks))
	assert.Equal(t, uint32(1), rf.Ring().PrimaryID(), "nothing changes before Reload")
	require.NoError(t, rf.Reload())
	assert.Equal(t, uint32(2), rf.Ring().PrimaryID())
	ct2, err := rf.Encrypt([]byte("v2"), nil)
	require.NoError(t, err)
	id, _ := KeyID(ct2)
	assert.Equal(t, uint32(2), id)
	pt, err := rf.Decrypt(ct1, nil)
	require.NoError(t, err)
	assert.Equal(t, "v1", string(pt))

	// A broken file is refused and the ring in service stays.
	require.NoError(t, os.WriteFile(path, []byte("{not json"), 0o600))
	assert.ErrorIs(t, rf.Reload(), ErrKeyset)
	assert.Equal(t, uint32(2), rf.Ring().PrimaryID())
	_, err = rf.Decrypt(ct2, nil)
	require.NoError(t, err)

	_, err = OpenRingFile(filepath.Join(t.TempDir(), "missing.json"))
	assert.Error(t, err)
}
