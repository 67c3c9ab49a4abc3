package dir_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/dir"
	"github.com/keel-go/keel/backup/local"
)

// tree describes every entry: type, mode, mtime, SHA-256 or link target.
func tree(t *testing.T, root string) map[string]string {
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(root, p)
		info, err := os.Lstat(p)
		require.NoError(t, err)
		desc := fmt.Sprintf("%s %v", info.Mode(), info.ModTime().UnixNano())
		switch {
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			desc += fmt.Sprintf(" %x", sha256.Sum256(b))
		case info.Mode()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			require.NoError(t, err)
			desc = "link " + l // symlink times are not restored
		case rel == ".":
			return nil
		}
		out[rel] = desc
		return nil
	}))
	return out
}

func makeTree(t *testing.T, root string) {
	mtime := time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC)
	files := map[string]os.FileMode{"a.txt": 0o644, "bin/run.sh": 0o755, "secret/key": 0o600, "deep/er/still/x.bin": 0o640}
	for name, mode := range files {
		p := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, bytes.Repeat([]byte(name), 5000), mode))
		require.NoError(t, os.Chmod(p, mode))
		require.NoError(t, os.Chtimes(p, mtime, mtime))
	}
	require.NoError(t, os.Symlink("a.txt", filepath.Join(root, "link")))
	require.NoError(t, os.Mkdir(filepath.Join(root, "empty"), 0o750))
	for _, d := range []string{"empty", "secret", "deep/er/still", "deep/er", "deep", "bin"} {
		require.NoError(t, os.Chtimes(filepath.Join(root, d), mtime, mtime))
	}
	require.NoError(t, os.Chmod(filepath.Join(root, "secret"), 0o700))
}

func TestRoundTripKeepsContentModesAndTimes(t *testing.T) {
	root := filepath.Join(t.TempDir(), "data")
	makeTree(t, root)
	before := tree(t, root)
	drv, err := dir.New(dir.Config{Path: root})
	require.NoError(t, err)
	store, err := local.New(t.TempDir())
	require.NoError(t, err)
	key, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	ident, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	repo, err := backup.New(backup.Config{Storage: store, Source: drv, SigningKey: key,
		Recipients: []age.Recipient{ident.Recipient()}, Identities: []age.Identity{ident}})
	require.NoError(t, err)
	defer func() { _ = repo.Close() }()
	ctx := context.Background()
	m, err := repo.Create(ctx)
	require.NoError(t, err)

	_, err = repo.Restore(ctx, m.ID, drv, backup.RestoreOptions{})
	require.ErrorIs(t, err, backup.ErrTargetNotEmpty)

	require.NoError(t, os.RemoveAll(root))
	_, err = repo.Restore(ctx, m.ID, drv, backup.RestoreOptions{})
	require.NoError(t, err)
	assert.Equal(t, before, tree(t, root))

	// Force replaces the tree: extra files go, damaged files are restored.
	require.NoError(t, os.WriteFile(filepath.Join(root, "extra"), []byte("x"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(root, "a.txt"), []byte("damaged"), 0o644))
	_, err = repo.Restore(ctx, m.ID, drv, backup.RestoreOptions{Force: true})
	require.NoError(t, err)
	assert.Equal(t, before, tree(t, root))
	siblings, err := os.ReadDir(filepath.Dir(root))
	require.NoError(t, err)
	assert.Len(t, siblings, 1, "no restore or old tree left beside the target")
}

func tarOf(t *testing.T, entries ...*tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		require.NoError(t, tw.WriteHeader(h))
		if h.Size > 0 {
			_, err := tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func TestRestoreCannotEscapeTheTarget(t *testing.T) {
	cases := map[string][]*tar.Header{
		"dot-dot":  {{Name: "../evil", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644}},
		"absolute": {{Name: "/tmp/evil", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644}},
		"through a symlink": {
			{Name: "up", Typeflag: tar.TypeSymlink, Linkname: ".."},
			{Name: "up/evil", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644},
		},
		"through an absolute symlink": {
			{Name: "abs", Typeflag: tar.TypeSymlink, Linkname: "/tmp"},
			{Name: "abs/evil", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644},
		},
		"device": {{Name: "dev", Typeflag: tar.TypeChar, Mode: 0o644}},
	}
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			root := filepath.Join(parent, "target")
			require.NoError(t, os.Mkdir(root, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(root, "keep"), []byte("old"), 0o600))
			drv, err := dir.New(dir.Config{Path: root})
			require.NoError(t, err)
			err = drv.Restore(context.Background(), bytes.NewReader(tarOf(t, entries...)), true)
			require.Error(t, err)
			_, err = os.Stat(filepath.Join(parent, "evil"))
			assert.ErrorIs(t, err, fs.ErrNotExist)
			_, err = os.Stat("/tmp/evil")
			assert.ErrorIs(t, err, fs.ErrNotExist)
			b, err := os.ReadFile(filepath.Join(root, "keep"))
			require.NoError(t, err)
			assert.Equal(t, "old", string(b), "a failed restore leaves the target as it was")
			siblings, _ := os.ReadDir(parent)
			assert.Len(t, siblings, 1)
		})
	}
}
