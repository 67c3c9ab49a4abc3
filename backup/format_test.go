package backup_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/backup"
)

func sampleV2Manifest() *backup.Manifest {
	m := sampleManifest()
	m.Repository = strings.Repeat("ab", 16)
	m.SourceIdentity = &backup.SourceIdentity{Driver: "postgres", Host: "db", Port: 5432, Database: "sales"}
	return m
}

func TestManifestV2CarriesRepositoryAndSourceUnderTheSignature(t *testing.T) {
	data := checkSigned(t, sampleV2Manifest, backup.EncodeManifest, backup.DecodeManifest,
		[2]string{`"repository": "abab`, `"repository": "cdab`},
		[2]string{`"database": "sales"`, `"database": "other"`},
		[2]string{`"host": "db"`, `"host": "db2"`},
		// A v2 manifest relabelled v1 does not pass as legacy: the type is signed.
		[2]string{backup.ManifestType, backup.LegacyManifestType})
	assert.Contains(t, string(data), `"type": "`+backup.ManifestType+`"`)
	assert.False(t, sampleV2Manifest().Legacy())
}

func TestManifestV2Rules(t *testing.T) {
	key, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	encode := func(m *backup.Manifest) ([]byte, error) { return backup.EncodeManifest(m, key) }
	checkMalformed(t, sampleV2Manifest, encode, []malformedCase[*backup.Manifest]{
		{"bad repository", func(m *backup.Manifest) { m.Repository = "ABAB" }, "repository"},
		{"no source identity", func(m *backup.Manifest) { m.SourceIdentity = nil }, "source_identity"},
		{"driver differs", func(m *backup.Manifest) { m.SourceIdentity.Driver = "mysql" }, "source_identity.driver"},
		{"bad port", func(m *backup.Manifest) { m.SourceIdentity.Port = 70000 }, "source_identity.port"},
		{"empty database", func(m *backup.Manifest) { m.SourceIdentity.Database = "" }, "source_identity.database"},
		{"control character", func(m *backup.Manifest) { m.SourceIdentity.Database = "sales\n  source: forged" }, "source_identity.database"},
		{"escape in host", func(m *backup.Manifest) { m.SourceIdentity.Host = "db\x1b[2K" }, "source_identity.host"},
		{"long host", func(m *backup.Manifest) { m.SourceIdentity.Host = strings.Repeat("h", 256) }, "source_identity.host"},
	})
	legacyWithSource := sampleManifest()
	legacyWithSource.SourceIdentity = &backup.SourceIdentity{Driver: "postgres", Database: "x"}
	_, err = backup.EncodeManifest(legacyWithSource, key)
	require.ErrorIs(t, err, backup.ErrMalformed, "a v1 manifest has no source identity")
}

func sampleIndex() *backup.Index {
	at := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	return &backup.Index{Repository: strings.Repeat("ab", 16), Seq: 5, UpdatedAt: at, Backups: []backup.IndexEntry{
		{ID: "20261121T030000Z-0a1b2c3d", Seq: 2, StartedAt: at, StoredSHA256: strings.Repeat("c", 64)},
		{ID: "20261120T030000Z-00000000", Seq: 4, StartedAt: at, StoredSHA256: strings.Repeat("d", 64), Legacy: true},
	}}
}

func TestIndexRoundTripAndTamper(t *testing.T) {
	data := checkSigned(t, sampleIndex, backup.EncodeIndex, backup.DecodeIndex,
		[2]string{`"seq":5`, `"seq":6`}, [2]string{`"legacy":true`, `"legacy":false`})
	_, err := backup.DecodeManifest(data)
	require.ErrorIs(t, err, backup.ErrMalformed, "an index is not a manifest")
}

func TestIndexRules(t *testing.T) {
	key, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	encode := func(x *backup.Index) ([]byte, error) { return backup.EncodeIndex(x, key) }
	checkMalformed(t, sampleIndex, encode, []malformedCase[*backup.Index]{
		{"bad repository", func(x *backup.Index) { x.Repository = "nope" }, "repository"},
		{"seq zero", func(x *backup.Index) { x.Seq = 0; x.Backups = nil }, "seq"},
		{"seq beyond 2^53", func(x *backup.Index) { x.Seq = 1 << 53 }, "seq"},
		{"no time", func(x *backup.Index) { x.UpdatedAt = time.Time{} }, "updated_at"},
		{"duplicate id", func(x *backup.Index) { x.Backups[1].ID = x.Backups[0].ID }, "backups[1].id"},
		{"seq not increasing", func(x *backup.Index) { x.Backups[1].Seq = 2 }, "backups[1].seq"},
		{"entry beyond index", func(x *backup.Index) { x.Backups[1].Seq = 6 }, "backups[1].seq"},
		{"bad sha", func(x *backup.Index) { x.Backups[0].StoredSHA256 = "x" }, "backups[0].stored_sha256"},
		{"bad id", func(x *backup.Index) { x.Backups[0].ID = "../x" }, "backups[0].id"},
		{"no start", func(x *backup.Index) { x.Backups[0].StartedAt = time.Time{} }, "backups[0].started_at"},
	})
	tooMany := sampleIndex()
	tooMany.Backups = make([]backup.IndexEntry, backup.MaxIndexEntries+1)
	_, err = backup.EncodeIndex(tooMany, key)
	require.ErrorIs(t, err, backup.ErrMalformed)
	_, err = backup.DecodeIndex(bytes.Repeat([]byte(" "), backup.MaxIndexSize+1), key.Public())
	require.ErrorIs(t, err, backup.ErrMalformed, "oversized input is refused before parsing")
	for name, payload := range map[string]string{
		"unknown member": `{"repository":"abababababababababababababababab","seq":1,"updated_at":"2026-01-01T00:00:00Z","backups":[],"extra":1}`,
		"negative seq":   `{"repository":"abababababababababababababababab","seq":-1,"updated_at":"2026-01-01T00:00:00Z","backups":[]}`,
		"float seq":      `{"repository":"abababababababababababababababab","seq":1.5,"updated_at":"2026-01-01T00:00:00Z","backups":[]}`,
	} {
		env := `{"type":"` + backup.IndexType + `","payload":` + payload + `,"signature":{"alg":"ed25519","key_id":"` + backup.KeyID(key.Public()) + `","value":"` + strings.Repeat("A", 86) + `=="}}`
		_, err := backup.DecodeIndex([]byte(env), key.Public())
		require.Error(t, err, name)
	}
}

func TestRepositoryIdentityRules(t *testing.T) {
	key, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	_, err = backup.EncodeRepositoryIdentity(&backup.RepositoryIdentity{ID: "short", CreatedAt: time.Now()}, key)
	require.ErrorIs(t, err, backup.ErrMalformed)
	_, err = backup.EncodeRepositoryIdentity(&backup.RepositoryIdentity{ID: strings.Repeat("0", 32)}, key)
	require.ErrorIs(t, err, backup.ErrMalformed)
	sample := func() *backup.RepositoryIdentity {
		return &backup.RepositoryIdentity{ID: strings.Repeat("0a", 16), CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	}
	checkSigned(t, sample, backup.EncodeRepositoryIdentity, backup.DecodeRepositoryIdentity, [2]string{`"id": "0a0a`, `"id": "0b0a`})
}

func TestFileSourceIdentityResolvesLinks(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	require.NoError(t, os.Mkdir(real, 0o700))
	link := filepath.Join(dir, "link")
	require.NoError(t, os.Symlink(real, link))
	resolvedDir, err := filepath.EvalSymlinks(real)
	require.NoError(t, err)
	// The file need not exist yet (a restore target).
	a := backup.FileSourceIdentity("sqlite", filepath.Join(link, "app.db"))
	b := backup.FileSourceIdentity("sqlite", filepath.Join(real, ".", "app.db"))
	assert.Equal(t, a, b)
	assert.Equal(t, filepath.Join(resolvedDir, "app.db"), a.Database)
	assert.Equal(t, "sqlite://"+a.Database, a.String())
	assert.NotEqual(t, a, backup.FileSourceIdentity("sqlite", filepath.Join(real, "other.db")))
	assert.Equal(t, "postgres://db:5432/sales", backup.SourceIdentity{Driver: "postgres", Host: "db", Port: 5432, Database: "sales"}.String())
}
