package backup

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAheadWriterKeepsOrderAndContent(t *testing.T) {
	data := make([]byte, 5*aheadChunk+12345)
	_, err := rand.Read(data)
	require.NoError(t, err)
	var out bytes.Buffer
	w := newAheadWriter(&out, nil)
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
	w := newAheadWriter(&failAfterWriter{n: aheadChunk}, nil)
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

// stepReader returns data in reads of varying sizes, like a pipe.
type stepReader struct {
	data []byte
	step int
}

func (r *stepReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	r.step = r.step*7%65521 + 1
	n := copy(p[:min(len(p), r.step)], r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestAheadWriterReadFromKeepsContentAndTees(t *testing.T) {
	data := make([]byte, 5*aheadChunk+12345)
	_, err := rand.Read(data)
	require.NoError(t, err)
	var out, tee bytes.Buffer
	w := newAheadWriter(&out, &tee)
	// Mixed: Write, then ReadFrom, then Write again.
	_, err = w.Write(data[:1000])
	require.NoError(t, err)
	n, err := io.Copy(w, &stepReader{data: data[1000 : len(data)-500]})
	require.NoError(t, err)
	require.EqualValues(t, len(data)-1500, n)
	_, err = w.Write(data[len(data)-500:])
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.True(t, bytes.Equal(data, out.Bytes()), "next stage got different bytes")
	assert.True(t, bytes.Equal(data, tee.Bytes()), "tee got different bytes")
}

func TestAheadWriterReadFromStopsOnTheNextStagesError(t *testing.T) {
	w := newAheadWriter(&failAfterWriter{n: aheadChunk}, nil)
	_, err := w.ReadFrom(&stepReader{data: make([]byte, 40*aheadChunk)})
	closeErr := w.Close()
	require.ErrorContains(t, closeErr, "storage gone")
	require.ErrorContains(t, err, "storage gone", "ReadFrom must fail, not read 40 chunks into a dead stage")
}

type brokenReader struct{}

func (brokenReader) Read([]byte) (int, error) { return 0, errors.New("pipe broke") }

func TestAheadWriterReadFromReturnsTheReadError(t *testing.T) {
	var out bytes.Buffer
	w := newAheadWriter(&out, nil)
	_, err := w.ReadFrom(brokenReader{})
	require.ErrorContains(t, err, "pipe broke")
	require.NoError(t, w.Close())
}
