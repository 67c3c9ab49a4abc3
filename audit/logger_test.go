package audit

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLogThenVerify(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 25, func(c *Config, _ *FileSinkConfig) { c.CheckpointEvery = 10 })
	rep, err := verifyDir(t, dir, false)
	require.NoError(t, err)
	assert.Equal(t, uint64(25), rep.Events)
	assert.True(t, rep.Closed)
	assert.Equal(t, uint64(1), rep.FirstSeq)
	// two "count" checkpoints and the "close" one
	assert.Equal(t, uint64(3), rep.Checkpoints)
	assert.Equal(t, rep.LastSeq, rep.Records)

	lines, _ := readLines(t, dir)
	r, err := DecodeLine(lines[0])
	require.NoError(t, err)
	require.NotNil(t, r.Event)
	assert.Equal(t, "license.update", r.Event.Action)
	assert.Equal(t, "user-0", r.Event.Actor.ID)
	assert.Equal(t, genesisHash, r.Prev)
}
