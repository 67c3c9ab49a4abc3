package backup

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The stored values a repository reads — index, identity, manifest — and
// the witness file are hostile input. These targets feed each decoder
// arbitrary bytes both as a whole file and, signed with the trusted key,
// as a payload, so that the strict payload decoding and the validation
// behind the signature are reached too. Every input must decode or fail
// with ErrMalformed/ErrSignature; nothing may panic, and whatever decodes
// must encode again to the same value.

func fuzzKey(f *testing.F) *SigningKey {
	key, err := GenerateSigningKey()
	require.NoError(f, err)
	return key
}

// signedOrRaw wraps data in an envelope of type typ signed by key when
// sign is set, and returns it unchanged otherwise.
func signedOrRaw(t *testing.T, typ string, data []byte, sign bool, key *SigningKey) []byte {
	if !sign {
		return data
	}
	out, err := sealCompact(typ, data, key)
	require.NoError(t, err)
	return out
}

func requireDecodeError(t *testing.T, err error) {
	if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrSignature) {
		t.Fatalf("error matches neither ErrMalformed nor ErrSignature: %v", err)
	}
}

func sampleIndex() *Index {
	at := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	return &Index{Repository: strings.Repeat("ab", 16), Seq: 5, UpdatedAt: at, Backups: []IndexEntry{
		{ID: "20261121T030000Z-0a1b2c3d", Seq: 2, StartedAt: at, StoredSHA256: strings.Repeat("c", 64)},
		{ID: "20261120T030000Z-00000000", Seq: 4, StartedAt: at.Add(-24 * time.Hour), StoredSHA256: strings.Repeat("d", 64), Legacy: true},
	}}
}

func FuzzDecodeIndex(f *testing.F) {
	key := fuzzKey(f)
	valid, err := EncodeIndex(sampleIndex(), key)
	require.NoError(f, err)
	payload, err := json.Marshal(sampleIndex())
	require.NoError(f, err)
	f.Add(valid, false)
	f.Add(payload, true)
	f.Add([]byte(`{"repository":"x","seq":9007199254740993,"updated_at":"2026-01-01T00:00:00Z","backups":[]}`), true)
	f.Add([]byte(`{"repository":"abababababababababababababababab","seq":1,"updated_at":"2026-01-01T00:00:00Z","backups":[{"id":"20261121T030000Z-0a1b2c3d","seq":1,"seq":2}]}`), true)
	f.Fuzz(func(t *testing.T, data []byte, sign bool) {
		idx, err := DecodeIndex(signedOrRaw(t, IndexType, data, sign, key), key.Public())
		if err != nil {
			require.Nil(t, idx)
			requireDecodeError(t, err)
			return
		}
		again, err := EncodeIndex(idx, key)
		require.NoError(t, err)
		idx2, err := DecodeIndex(again, key.Public())
		require.NoError(t, err)
		require.Equal(t, idx.Seq, idx2.Seq)
		require.Len(t, idx2.Backups, len(idx.Backups))
	})
}

func FuzzDecodeRepositoryIdentity(f *testing.F) {
	key := fuzzKey(f)
	ri := &RepositoryIdentity{ID: strings.Repeat("0f", 16), CreatedAt: time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)}
	valid, err := EncodeRepositoryIdentity(ri, key)
	require.NoError(f, err)
	f.Add(valid, false)
	f.Add([]byte(`{"id":"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f","created_at":"2026-11-21T03:00:00Z"}`), true)
	f.Add([]byte(`{"id":"0F0F","created_at":"2026-11-21T03:00:00Z","extra":1}`), true)
	f.Fuzz(func(t *testing.T, data []byte, sign bool) {
		got, err := DecodeRepositoryIdentity(signedOrRaw(t, RepositoryType, data, sign, key), key.Public())
		if err != nil {
			require.Nil(t, got)
			requireDecodeError(t, err)
			return
		}
		require.True(t, ValidRepositoryID(got.ID))
		again, err := EncodeRepositoryIdentity(got, key)
		require.NoError(t, err)
		got2, err := DecodeRepositoryIdentity(again, key.Public())
		require.NoError(t, err)
		require.Equal(t, got.ID, got2.ID)
	})
}

// FuzzDecodeManifestPayload reaches the v1 and v2 manifest validation
// behind a valid signature (FuzzDecodeManifest mostly fails the signature).
func FuzzDecodeManifestPayload(f *testing.F) {
	key := fuzzKey(f)
	at := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	m := &Manifest{ID: "20261121T030000Z-0a1b2c3d", Driver: "postgres", Source: "postgres://app@db:5432/sales",
		Object: "20261121T030000Z-0a1b2c3d.backup", StartedAt: at, FinishedAt: at,
		RawSHA256: strings.Repeat("a", 64), StoredSHA256: strings.Repeat("b", 64), Compression: Zstd,
		Encryption: Encryption{Scheme: "none"}, Status: StatusComplete,
		Repository: strings.Repeat("ab", 16), SourceIdentity: &SourceIdentity{Driver: "postgres", Host: "db", Port: 5432, Database: "sales"}}
	payload, err := json.Marshal(m)
	require.NoError(f, err)
	f.Add(payload, true)
	f.Add(payload, false)
	f.Fuzz(func(t *testing.T, data []byte, v2 bool) {
		typ := LegacyManifestType
		if v2 {
			typ = ManifestType
		}
		env, err := sealCompact(typ, data, key)
		require.NoError(t, err)
		got, err := DecodeManifest(env, key.Public())
		if err != nil {
			require.Nil(t, got)
			requireDecodeError(t, err)
			return
		}
		require.Equal(t, !v2, got.Legacy())
		again, err := EncodeManifest(got, key)
		require.NoError(t, err)
		_, err = DecodeManifest(again, key.Public())
		require.NoError(t, err)
	})
}

func FuzzDecodeWitnessFile(f *testing.F) {
	f.Add([]byte(`{"type":"keel.backup.witness/v1","heads":[{"repository":"abababababababababababababababab","seq":3,"sha256":"` + strings.Repeat("e", 64) + `"}]}`))
	f.Add([]byte(`{"type":"keel.backup.witness/v1","heads":null}`))
	f.Add([]byte(`{"type":"keel.backup.witness/v1","heads":[{"repository":"ab","seq":-1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		heads, err := decodeWitnessFile(data)
		if err != nil {
			require.Nil(t, heads)
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		for _, h := range heads {
			require.True(t, ValidRepositoryID(h.Repository))
			require.Positive(t, h.Seq)
		}
	})
}
