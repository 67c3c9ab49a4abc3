package local_test

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/local"
)

type brokenReader struct{ n int }

func (b *brokenReader) Read(p []byte) (int, error) {
	if b.n > 0 {
		return 0, errors.New("dump died")
	}
	b.n = len(p)
	return len(p), nil
}

func TestStorage(t *testing.T) {
	dir := t.TempDir()
	st, err := local.New(dir)
	require.NoError(t, err)
	ctx := context.Background()

	require.NoError(t, st.Put(ctx, "a.backup", strings.NewReader("hello")))
	rc, err := st.Get(ctx, "a.backup")
	require.NoError(t, err)
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	assert.Equal(t, "hello", string(b))

	// A failing reader leaves neither the object nor a temporary file.
	require.ErrorContains(t, st.Put(ctx, "b.backup", &brokenReader{}), "dump died")
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, des, 1)
	_, err = st.Get(ctx, "b.backup")
	require.ErrorIs(t, err, backup.ErrNotFound)

	// Temporary names are never listed.
	require.NoError(t, os.WriteFile(dir+"/.tmp-c.backup-123", []byte("x"), 0o600))
	names, err := st.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"a.backup"}, names)

	for _, bad := range []string{"", "../x", "a/b", ".hidden"} {
		assert.Error(t, st.Put(ctx, bad, strings.NewReader("x")), bad)
		_, err := st.Get(ctx, bad)
		assert.Error(t, err, bad)
	}
	require.NoError(t, st.Delete(ctx, "a.backup"))
	require.NoError(t, st.Delete(ctx, "a.backup"))
	_, err = local.New("")
	require.Error(t, err)
}
