package s3_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/dir"
	"github.com/keel-go/keel/backup/s3"
)

func credentialsFor(cfg s3.Config) *credentials.Credentials {
	return credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, "")
}

// TestRepositoryOnS3 runs a whole backup, verify, prune and restore
// against the real S3 server.
func TestRepositoryOnS3(t *testing.T) {
	cfg := startVersityGW(t)
	st, err := s3.New(cfg)
	require.NoError(t, err)
	src := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "sub", "f.txt"), []byte("hello"), 0o644))
	drv, err := dir.New(dir.Config{Path: src})
	require.NoError(t, err)
	key, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	ident, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	repo, err := backup.New(backup.Config{Storage: st, Source: drv, SigningKey: key,
		Recipients: []age.Recipient{ident.Recipient()}, Identities: []age.Identity{ident}})
	require.NoError(t, err)
	defer func() { _ = repo.Close() }()
	ctx := context.Background()
	var ids []string
	for range 3 {
		m, err := repo.Create(ctx)
		require.NoError(t, err)
		ids = append(ids, m.ID)
	}
	_, err = repo.Verify(ctx, ids[1], backup.VerifyOptions{Level: backup.VerifyFull})
	require.NoError(t, err)
	res, err := repo.Prune(ctx, backup.Policy{Last: 1}, false)
	require.NoError(t, err)
	assert.Equal(t, []string{ids[0]}, res.Removed, "the newest and the newest verified stay")
	inv, err := repo.Inventory(ctx)
	require.NoError(t, err)
	require.Len(t, inv.Entries, 2)
	assert.Empty(t, inv.Problems, "identity and index live in the bucket beside the backups")
	require.NotNil(t, inv.Index)
	assert.Len(t, inv.Index.Backups, 2, "the pruned backup left the index")
	for _, e := range inv.Entries {
		assert.NoError(t, e.Err)
	}

	target := filepath.Join(t.TempDir(), "restored")
	tdrv, err := dir.New(dir.Config{Path: target})
	require.NoError(t, err)
	_, err = repo.Restore(ctx, "", tdrv, backup.RestoreOptions{AllowOtherSource: true})
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(target, "sub", "f.txt"))
	require.NoError(t, err)
	assert.Equal(t, "hello", string(b))
}
