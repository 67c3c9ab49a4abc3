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

// A RingFile takes the counts and the NearLimit callback that Config gives
// a Ring (docs/KEY-ROTATION.md tells readers to use them); OpenRingFile(path)
// took neither.
func TestRingFileTakesEncryptionsAndNearLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	ks, err := GenerateKeyset(AES256GCM)
	require.NoError(t, err)
	require.NoError(t, WriteKeysetFile(path, ks))

	var reported []KeyUsage
	rf, err := OpenRingFileWith(path, RingFileConfig{
		Encryptions: map[uint32]uint64{1: GCMMessageLimit/2 - 1, 2: 7}, // 2: a key the file will hold later
		NearLimit:   func(u KeyUsage) { reported = append(reported, u) },
	})
	require.NoError(t, err)
	for range 2 {
		_, err = rf.Encrypt([]byte("v"), nil)
		require.NoError(t, err)
	}
	require.Len(t, reported, 1)
	assert.Equal(t, KeyUsage{ID: 1, Algorithm: AES256GCM, Encryptions: GCMMessageLimit / 2, Limit: GCMMessageLimit}, reported[0])

	// On a reload, the counts go on; a key the file holds for the first
	// time starts from its entry in Encryptions; NearLimit stays.
	_, err = ks.Rotate(AES256GCM, true)
	require.NoError(t, err)
	require.NoError(t, WriteKeysetFile(path, ks))
	require.NoError(t, rf.Reload())
	assert.Equal(t, []KeyUsage{
		{ID: 1, Algorithm: AES256GCM, Encryptions: GCMMessageLimit/2 + 1, Limit: GCMMessageLimit},
		{ID: 2, Algorithm: AES256GCM, Encryptions: 7, Limit: GCMMessageLimit},
	}, rf.Ring().Usage())

	full, err := OpenRingFileWith(path, RingFileConfig{Encryptions: map[uint32]uint64{1: 0, 2: GCMMessageLimit}})
	require.NoError(t, err)
	_, err = full.Encrypt([]byte("v"), nil)
	require.ErrorIs(t, err, ErrKeyExhausted, "key 2, the primary, is exhausted")

	// A count for a key the file does not hold (retired, not staged yet) is
	// not an error: the file changes under a running service.
	other, err := OpenRingFileWith(path, RingFileConfig{Encryptions: map[uint32]uint64{9: 1}})
	require.NoError(t, err)
	assert.Equal(t, []uint32{1, 2}, other.Ring().KeyIDs())
}
