package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reseal re-encodes a decoded record after mutate, with a correct hash, as
// a forger without the signing key could.
func reseal(t *testing.T, line []byte, mutate func(*Record)) []byte {
	t.Helper()
	r, err := DecodeLine(line)
	require.NoError(t, err)
	mutate(r)
	var payload []byte
	switch r.Kind {
	case KindEvent:
		payload, err = eventPayload(r.Event)
		require.NoError(t, err)
	case KindCheckpoint:
		payload = kindPayload("checkpoint", r.Checkpoint)
	case KindGap:
		payload = kindPayload("gap", r.Gap)
	case KindRecovery:
		payload = kindPayload("recovery", r.Recovery)
	}
	seal(r, formatTime(r.Time), payload)
	return r.Line
}

// rechain re-seals lines[from:] so that each prev matches the hash before.
func rechain(t *testing.T, lines [][]byte, from int) {
	t.Helper()
	for i := max(from, 1); i < len(lines); i++ {
		prev, err := DecodeLine(lines[i-1])
		require.NoError(t, err)
		lines[i] = reseal(t, lines[i], func(r *Record) { r.Prev = prev.Hash })
	}
}

func TestVerifyDetectsEachKindOfEdit(t *testing.T) {
	// 13 events with CheckpointEvery 5: seq 6 and 12 are checkpoints, seq
	// 13..15 events... the layout is checked below.
	tests := []struct {
		name    string
		edit    func(t *testing.T, lines [][]byte) [][]byte
		wantErr error
		wantSeq uint64
	}{
		{"modified field", func(t *testing.T, l [][]byte) [][]byte {
			l[2] = bytes.Replace(l[2], []byte(`"lic-2"`), []byte(`"lic-X"`), 1)
			return l
		}, ErrHashMismatch, 3},
		{"modified record with its hash recomputed", func(t *testing.T, l [][]byte) [][]byte {
			l[2] = reseal(t, l[2], func(r *Record) { r.Event.Actor.ID = "someone-else" })
			return l
		}, ErrChainBroken, 4},
		{"modified record with the whole chain recomputed", func(t *testing.T, l [][]byte) [][]byte {
			l[2] = reseal(t, l[2], func(r *Record) { r.Event.Outcome = Denied })
			rechain(t, l, 3)
			return l
		}, ErrBadSignature, 6},
		{"deleted record", func(t *testing.T, l [][]byte) [][]byte {
			return slices.Delete(l, 2, 3)
		}, ErrChainBroken, 3},
		{"deleted record with the chain recomputed", func(t *testing.T, l [][]byte) [][]byte {
			l = slices.Delete(l, 2, 3)
			for i := 2; i < len(l); i++ {
				prev, err := DecodeLine(l[i-1])
				require.NoError(t, err)
				l[i] = reseal(t, l[i], func(r *Record) { r.Seq, r.Prev = prev.Seq+1, prev.Hash })
			}
			return l
		}, ErrBadSignature, 5},
		{"inserted record", func(t *testing.T, l [][]byte) [][]byte {
			return slices.Insert(l, 2, slices.Clone(l[1]))
		}, ErrChainBroken, 3},
		{"inserted forged record", func(t *testing.T, l [][]byte) [][]byte {
			forged := reseal(t, l[2], func(r *Record) { r.Event.Action = "customer.delete" })
			return slices.Insert(l, 3, forged)
		}, ErrChainBroken, 4},
		{"reordered records", func(t *testing.T, l [][]byte) [][]byte {
			l[2], l[3] = l[3], l[2]
			return l
		}, ErrChainBroken, 3},
		{"truncated: the closing checkpoint removed", func(t *testing.T, l [][]byte) [][]byte {
			return l[:len(l)-1]
		}, ErrTruncated, 0},
		{"truncated after the last periodic checkpoint", func(t *testing.T, l [][]byte) [][]byte {
			return l[:12] // ends with the "count" checkpoint at seq 12
		}, ErrTruncated, 13},
		{"truncated in the middle of a line", func(t *testing.T, l [][]byte) [][]byte {
			return append(l[:len(l)-1], l[len(l)-1][:40])
		}, ErrMalformed, 0},
		{"checkpoint signed by another key", func(t *testing.T, l [][]byte) [][]byte {
			other := otherKey(t)
			l[5] = reseal(t, l[5], func(r *Record) {
				r.Checkpoint = signCheckpoint(other, KeyID(pub(other)), r.LogID, r.Seq, r.Prev, r.Checkpoint.Reason, r.timeText)
			})
			rechain(t, l, 6)
			return l
		}, ErrBadSignature, 6},
		{"garbage line", func(t *testing.T, l [][]byte) [][]byte {
			l[4] = []byte(`{"v":1}`)
			return l
		}, ErrMalformed, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeLog(t, dir, 13, func(c *Config, _ *FileSinkConfig) { c.CheckpointEvery = 5 })
			lines, path := readLines(t, dir)
			require.Len(t, lines, 16) // 13 events + checkpoints at 6, 12 and the close one
			_, err := verifyDir(t, dir, false)
			require.NoError(t, err, "the untouched log verifies")

			writeLines(t, path, tt.edit(t, lines))
			_, err = verifyDir(t, dir, false)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.wantErr)
			var ve *VerifyError
			require.ErrorAs(t, err, &ve)
			if tt.wantSeq != 0 {
				assert.Equal(t, tt.wantSeq, ve.Seq, "first bad record: %v", err)
			}
			assert.NotEmpty(t, ve.Reason)
		})
	}
}

func TestVerifyWithWrongKeyFails(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 3, nil)
	_, err := Verify(context.Background(), DirSource(dir), VerifyOptions{PublicKeys: []ed25519.PublicKey{pub(otherKey(t))}})
	require.ErrorIs(t, err, ErrBadSignature)
	assert.Contains(t, err.Error(), "not among the public keys")
}

func TestVerifyLiveAcceptsUnsealedTailAndTornLine(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 4, nil)
	lines, path := readLines(t, dir)
	lines = lines[:len(lines)-1] // as if the writer were still running
	writeLines(t, path, lines)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte(`{"v":1,"seq":6,"ki`))
	require.NoError(t, err)
	require.NoError(t, f.Close())

	_, err = verifyDir(t, dir, false)
	require.ErrorIs(t, err, ErrTruncated)
	rep, err := verifyDir(t, dir, true)
	require.NoError(t, err)
	assert.True(t, rep.TornTail)
	assert.Equal(t, uint64(4), rep.Unsealed)
	assert.False(t, rep.Closed)
}
