package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"iter"
	"testing"

	"github.com/stretchr/testify/require"
)

// linesSource serves lines from memory.
type linesSource [][]byte

func (s linesSource) Lines(context.Context) iter.Seq2[Line, error] {
	return func(yield func(Line, error) bool) {
		for _, b := range s {
			if !yield(Line{Bytes: b}, nil) {
				return
			}
		}
	}
}

func FuzzDecodeLine(f *testing.F) {
	dir := f.TempDir()
	writeLog(f, dir, 3, func(c *Config, _ *FileSinkConfig) {
		c.Sensitive = []SensitiveField{{Name: "seats", Treatment: Mask}}
	})
	for line, err := range DirSource(dir).Lines(context.Background()) {
		require.NoError(f, err)
		f.Add(bytes.Clone(line.Bytes))
	}
	f.Add([]byte(`{"v":1,"seq":1,"hash":"` + genesisHash + `"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(``))
	keys := []ed25519.PublicKey{pub(testKey(f))}
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := DecodeLine(line)
		if err == nil {
			require.NotNil(t, r)
			require.Equal(t, line, r.Line)
			require.Len(t, r.Hash, 64)
			require.NotEmpty(t, r.Kind)
		}
		// Verify never panics either. A lone line passes only as a log whose
		// older records were removed by retention: a signed closing
		// checkpoint; with FromStart it never passes.
		rep, verr := Verify(context.Background(), linesSource{line}, VerifyOptions{PublicKeys: keys})
		if verr == nil {
			require.NoError(t, err)
			require.Equal(t, KindCheckpoint, r.Kind)
			require.True(t, rep.Closed)
		}
		_, verr = Verify(context.Background(), linesSource{line}, VerifyOptions{PublicKeys: keys, FromStart: true})
		require.Error(t, verr)
	})
}

// FuzzDecodeSealedBody reaches the JSON decoding behind the hash check: the
// fuzzer mutates a body and the line is sealed with its correct hash.
func FuzzDecodeSealedBody(f *testing.F) {
	dir := f.TempDir()
	writeLog(f, dir, 2, nil)
	for line, err := range DirSource(dir).Lines(context.Background()) {
		require.NoError(f, err)
		body, _, ok := canonicalBody(line.Bytes)
		require.True(f, ok)
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) < 2 || body[len(body)-1] != '}' {
			return
		}
		sum := sha256.Sum256(body)
		line := append(bytes.Clone(body[:len(body)-1]), `,"hash":"`+hex.EncodeToString(sum[:])+`"}`...)
		r, err := DecodeLine(line)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		require.Equal(t, hex.EncodeToString(sum[:]), r.Hash)
	})
}
