package backup

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAheadWriterKeepsOrderAndContent(t *testing.T) {
	data := make([]byte, 5*aheadChunk+12345)
	_, err := rand.Read(data)
	require.NoError(t, err)
	var out bytes.Buffer
	w := newAheadWriter(&out)
	for p, step := data, 1; len(p) > 0; step = step*7%65521 + 1 {
		n := min(step, len(p))
		k, err := w.Write(p[:n])
		require.NoError(t, err)
		require.Equal(t, n, k)
		p = p[n:]
	}
	require.NoError(t, w.Close())
	assert.True(t, bytes.Equal(data, out.Bytes()))
}

type failAfterWriter struct{ n int }

func (f *failAfterWriter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("storage gone")
	}
	f.n -= len(p)
	return len(p), nil
}

func TestAheadWriterReportsTheNextStagesError(t *testing.T) {
	w := newAheadWriter(&failAfterWriter{n: aheadChunk})
	chunk := make([]byte, 4096)
	var err error
	for i := 0; i < 40*aheadChunk/len(chunk) && err == nil; i++ {
		_, err = w.Write(chunk)
	}
	closeErr := w.Close()
	require.ErrorContains(t, closeErr, "storage gone")
	if err != nil {
		assert.ErrorContains(t, err, "storage gone")
	}
}
