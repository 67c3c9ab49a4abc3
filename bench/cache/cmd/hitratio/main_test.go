package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunPrintsATableForASyntheticTrace(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "arc-OLTP.lis.zst"))
	require.NoError(t, err)
	zw, err := zstd.NewWriter(f)
	require.NoError(t, err)
	for range 50 { // a loop over keys 1..8
		_, err = zw.Write([]byte("1 8 0 0\n"))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())

	var out strings.Builder
	require.NoError(t, run(&out, dir, "OLTP", "4,8", 2))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 4, out.String())
	assert.Contains(t, lines[0], "| keel | keel-tinylfu | golang-lru | otter | theine | ristretto |")
	// At capacity 8 the loop fits: every request after the first pass hits.
	assert.Equal(t, "| arc-OLTP | 8 | 98.00 | 98.00 | 98.00 | 98.00 | 98.00 | 98.00 |", lines[3])
	// At 4 plain LRU never hits a loop of 8.
	assert.True(t, strings.HasPrefix(lines[2], "| arc-OLTP | 4 | 0.00 |"), lines[2])

	assert.ErrorContains(t, run(&out, dir, "OLTP", "x", 1), "-capacities")
	assert.ErrorContains(t, run(&out, dir, "OLTP", "", 0), "-runs must be >= 1")
	assert.Error(t, run(&out, dir, "P3", "", 1), "the P3 file is absent")
}
