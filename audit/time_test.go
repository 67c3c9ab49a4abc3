package audit

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckpointIntervalSealsIdleLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		l, _ := newFileLogger(t, dir, func(c *Config, _ *FileSinkConfig) { c.CheckpointInterval = time.Minute })
		for i := range 3 {
			require.NoError(t, l.Log(context.Background(), event(i)))
		}
		time.Sleep(59 * time.Second)
		synctest.Wait()
		recs := collectRecords(t, dir)
		require.Len(t, recs, 3, "no checkpoint before the interval")

		time.Sleep(2 * time.Second)
		synctest.Wait()
		recs = collectRecords(t, dir)
		require.Len(t, recs, 4)
		assert.Equal(t, "interval", recs[3].Checkpoint.Reason)
		rep, err := verifyDir(t, dir, true)
		require.NoError(t, err)
		assert.Zero(t, rep.Unsealed)

		time.Sleep(10 * time.Minute) // idle: no more checkpoints
		synctest.Wait()
		assert.Len(t, collectRecords(t, dir), 4)
		require.NoError(t, l.Close())
	})
}

func TestBufferedModeSyncsAndRotatesByAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		l, _ := newFileLogger(t, dir, func(c *Config, f *FileSinkConfig) {
			c.Mode = Buffered
			f.MaxAge = time.Hour
			f.Retention = 24 * time.Hour
		})
		for i := range 48 {
			require.NoError(t, l.Log(context.Background(), event(i)))
			time.Sleep(time.Hour)
		}
		require.NoError(t, l.Close())
		names, err := listSegments(dir)
		require.NoError(t, err)
		assert.InDelta(t, 25, len(names), 1, "segments sealed more than a day ago are removed")

		rep, err := verifyDir(t, dir, false)
		require.NoError(t, err, "the remaining chain verifies from its signed checkpoint")
		assert.Greater(t, rep.FirstSeq, uint64(1))
		assert.InDelta(t, 25, rep.Events, 1)

		// Removing a segment in the middle, though, breaks the chain.
		require.NoError(t, os.Remove(filepath.Join(dir, names[len(names)/2])))
		_, err = verifyDir(t, dir, false)
		require.ErrorIs(t, err, ErrChainBroken)
		assert.Contains(t, err.Error(), "missing")
	})
}

func TestPruneKeepsAnUnbrokenVerifiableSuffix(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		l, sink := newFileLogger(t, dir, func(_ *Config, f *FileSinkConfig) { f.MaxAge = time.Hour })
		for i := range 6 {
			require.NoError(t, l.Log(context.Background(), event(i)))
			time.Sleep(time.Hour)
		}
		before, err := listSegments(dir)
		require.NoError(t, err)
		removed, err := sink.Prune(time.Now().Add(-3*time.Hour + time.Minute))
		require.NoError(t, err)
		assert.Equal(t, before[:len(removed)], removed, "only the oldest segments go")
		assert.NotEmpty(t, removed)
		require.NoError(t, l.Close())

		n := 0
		for _, err := range sink.Lines(context.Background()) {
			require.NoError(t, err)
			n++
		}
		assert.Positive(t, n)
		rep, err := verifyDir(t, dir, false)
		require.NoError(t, err)
		assert.Greater(t, rep.FirstSeq, uint64(1))
		_, err = Verify(context.Background(), DirSource(dir), VerifyOptions{PublicKeys: []ed25519.PublicKey{pub(testKey(t))}, FromStart: true})
		require.ErrorIs(t, err, ErrChainBroken, "FromStart refuses a log whose start was removed")
	})
}
