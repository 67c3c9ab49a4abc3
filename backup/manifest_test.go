package backup_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/backup"
)

func sampleManifest() *backup.Manifest {
	start := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	return &backup.Manifest{
		ID: "20261121T030000Z-0a1b2c3d", Driver: "postgres", Source: "postgres://app@db:5432/sales",
		Object: "20261121T030000Z-0a1b2c3d.backup", StartedAt: start, FinishedAt: start.Add(time.Minute),
		RawSize: 1000, StoredSize: 400, RawSHA256: strings.Repeat("a", 64), StoredSHA256: strings.Repeat("b", 64),
		Compression: backup.Zstd, Encryption: backup.Encryption{Scheme: "age-x25519", Recipients: []string{"age1example"}},
		Tools: map[string]string{"pg_dump": "15.20"}, Status: backup.StatusComplete,
	}
}

func TestManifestRoundTripAndTamper(t *testing.T) {
	key, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	data, err := backup.EncodeManifest(sampleManifest(), key)
	require.NoError(t, err)
	got, err := backup.DecodeManifest(data, key.Public())
	require.NoError(t, err)
	assert.Equal(t, sampleManifest(), got)

	// Any change to the signed payload is detected.
	tampered := bytes.Replace(data, []byte(`"raw_size": 1000`), []byte(`"raw_size": 1001`), 1)
	require.NotEqual(t, data, tampered)
	_, err = backup.DecodeManifest(tampered, key.Public())
	require.ErrorIs(t, err, backup.ErrSignature)

	other, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	_, err = backup.DecodeManifest(data, other.Public())
	require.ErrorIs(t, err, backup.ErrSignature)
	assert.Contains(t, err.Error(), "unknown key")
}

func TestManifestDecodeRejectsMalformed(t *testing.T) {
	key, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	cases := []struct {
		name  string
		edit  func(*backup.Manifest)
		field string
	}{
		{"bad id", func(m *backup.Manifest) { m.ID = "../../etc/passwd" }, "id"},
		{"object not matching id", func(m *backup.Manifest) { m.Object = "20261121T030000Z-ffffffff.backup" }, "object"},
		{"bad driver", func(m *backup.Manifest) { m.Driver = "Post Gres" }, "driver"},
		{"negative size", func(m *backup.Manifest) { m.RawSize = -1 }, "raw_size"},
		{"short sha", func(m *backup.Manifest) { m.StoredSHA256 = "abc" }, "stored_sha256"},
		{"time order", func(m *backup.Manifest) { m.FinishedAt = m.StartedAt.Add(-time.Second) }, "finished_at"},
		{"status", func(m *backup.Manifest) { m.Status = "running" }, "status"},
		{"compression", func(m *backup.Manifest) { m.Compression = "lz4" }, "compression"},
		{"scheme", func(m *backup.Manifest) { m.Encryption.Scheme = "rot13" }, "encryption.scheme"},
		{"no recipients", func(m *backup.Manifest) { m.Encryption.Recipients = nil }, "encryption.recipients"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := sampleManifest()
			tc.edit(m)
			_, err := backup.EncodeManifest(m, key)
			var me *backup.MalformedError
			require.ErrorAs(t, err, &me)
			assert.Equal(t, tc.field, me.Field)
			assert.ErrorIs(t, err, backup.ErrMalformed)
		})
	}
	for name, data := range map[string]string{
		"empty":         "",
		"not json":      "hello",
		"array":         "[]",
		"unknown field": `{"type":"keel.backup.manifest/v1","payload":{},"signature":{},"extra":1}`,
		"wrong type":    `{"type":"keel.backup.verification/v1","payload":{},"signature":{"alg":"ed25519"}}`,
		"bad alg":       `{"type":"keel.backup.manifest/v1","payload":{},"signature":{"alg":"rsa"}}`,
		"bad sig":       `{"type":"keel.backup.manifest/v1","payload":{},"signature":{"alg":"ed25519","value":"!!"}}`,
		"payload array": `{"type":"keel.backup.manifest/v1","payload":[],"signature":{"alg":"ed25519"}}`,
		"trailing":      `{"type":"keel.backup.manifest/v1","payload":{},"signature":{}} {}`,
	} {
		_, err := backup.DecodeManifest([]byte(data), key.Public())
		assert.ErrorIs(t, err, backup.ErrMalformed, name)
	}
}

func FuzzDecodeManifest(f *testing.F) {
	key, err := backup.GenerateSigningKey()
	require.NoError(f, err)
	valid, err := backup.EncodeManifest(sampleManifest(), key)
	require.NoError(f, err)
	f.Add(valid)
	f.Add([]byte(`{"type":"keel.backup.manifest/v1","payload":{"id":1},"signature":{"alg":"ed25519","key_id":"00","value":""}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := backup.DecodeManifest(data, key.Public())
		if err != nil {
			require.Nil(t, m)
			return
		}
		// Whatever decodes was signed by key and re-encodes to a manifest
		// that decodes to the same value.
		again, err := backup.EncodeManifest(m, key)
		require.NoError(t, err)
		m2, err := backup.DecodeManifest(again, key.Public())
		require.NoError(t, err)
		assert.Equal(t, m.ID, m2.ID)
		assert.Equal(t, m.StoredSHA256, m2.StoredSHA256)
	})
}
