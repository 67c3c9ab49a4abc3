package backup_test

import (
	"bytes"
	"crypto/ed25519"
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

// checkSigned encodes sample, decodes it back to an equal value, and
// checks that each edit of the signed bytes, and another key, fail the
// signature. It returns the encoded record.
func checkSigned[T any](t *testing.T, sample func() T, encode func(T, *backup.SigningKey) ([]byte, error),
	decode func([]byte, ...ed25519.PublicKey) (T, error), edits ...[2]string) []byte {
	t.Helper()
	key, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	data, err := encode(sample(), key)
	require.NoError(t, err)
	got, err := decode(data, key.Public())
	require.NoError(t, err)
	assert.Equal(t, sample(), got)
	for _, e := range edits {
		tampered := bytes.Replace(data, []byte(e[0]), []byte(e[1]), 1)
		require.NotEqual(t, data, tampered, e[0])
		_, err = decode(tampered, key.Public())
		require.ErrorIs(t, err, backup.ErrSignature, e[0])
	}
	other, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	_, err = decode(data, other.Public())
	require.ErrorIs(t, err, backup.ErrSignature)
	assert.Contains(t, err.Error(), "unknown key")
	return data
}

func TestManifestRoundTripAndTamper(t *testing.T) {
	// Any change to the signed payload is detected.
	checkSigned(t, sampleManifest, backup.EncodeManifest, backup.DecodeManifest, [2]string{`"raw_size": 1000`, `"raw_size": 1001`})
}

// malformedCase edits a valid record so that encoding it must fail with
// a *MalformedError naming field.
type malformedCase[T any] struct {
	name  string
	edit  func(T)
	field string
}

// checkMalformed runs cases against fresh samples through encode.
func checkMalformed[T any](t *testing.T, sample func() T, encode func(T) ([]byte, error), cases []malformedCase[T]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := sample()
			tc.edit(v)
			_, err := encode(v)
			var me *backup.MalformedError
			require.ErrorAs(t, err, &me)
			assert.Equal(t, tc.field, me.Field)
			assert.ErrorIs(t, err, backup.ErrMalformed)
		})
	}
}

func TestManifestDecodeRejectsMalformed(t *testing.T) {
	key, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	encode := func(m *backup.Manifest) ([]byte, error) { return backup.EncodeManifest(m, key) }
	checkMalformed(t, sampleManifest, encode, []malformedCase[*backup.Manifest]{
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
	})
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
