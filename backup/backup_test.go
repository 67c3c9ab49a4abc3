package backup_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/local"
)

func TestMain(m *testing.M) {
	if os.Getenv(lockHelperEnv) != "" {
		lockHelper()
		return
	}
	goleak.VerifyTestMain(m)
}

// memSource dumps fixed bytes; failAfter > 0 makes it fail after writing that many.
type memSource struct {
	data      []byte
	failAfter int
}

func (s *memSource) Driver() string { return "mem" }
func (s *memSource) Name() string   { return "mem://test" }
func (s *memSource) Dump(_ context.Context, w io.Writer) (map[string]string, error) {
	if s.failAfter > 0 {
		if _, err := w.Write(s.data[:s.failAfter]); err != nil {
			return nil, err
		}
		return nil, errors.New("dump tool exited with status 1")
	}
	// Write in uneven chunks, as a real tool does.
	for b := s.data; len(b) > 0; {
		n := min(len(b), 7919)
		if _, err := w.Write(b[:n]); err != nil {
			return nil, err
		}
		b = b[n:]
	}
	return map[string]string{"memdump": "1.0"}, nil
}

// memTarget records what it restored.
type memTarget struct {
	mu       sync.Mutex
	data     []byte
	restored bool
	readErr  error
}

func (t *memTarget) Driver() string { return "mem" }

// Name is the source's: a restore goes back into the database it came
// from unless a test says otherwise.
func (t *memTarget) Name() string { return "mem://test" }
func (t *memTarget) Empty(context.Context) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.data) == 0, nil
}
func (t *memTarget) Restore(_ context.Context, r io.Reader, _ bool) error {
	b, err := io.ReadAll(r)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.readErr = err
	if err != nil {
		return err
	}
	t.data, t.restored = b, true
	return nil
}
func (t *memTarget) TrialRestore(_ context.Context, r io.Reader, q string) (string, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	return q + ":" + string(rune('0'+len(b)%10)), nil
}

type fixture struct {
	repo    *backup.Repository
	store   *local.Storage
	src     *memSource
	key     *backup.SigningKey
	ident   *age.X25519Identity
	payload []byte
}

func randomPayload(t testing.TB, n int) []byte {
	// Half random, half repetitive: compressible like a real dump.
	b := make([]byte, n)
	_, err := rand.Read(b[:n/2])
	require.NoError(t, err)
	copy(b[n/2:], bytes.Repeat([]byte("INSERT INTO orders VALUES (42, 'widget');\n"), n/40+1))
	return b
}

func newFixture(t *testing.T, mutate ...func(*backup.Config)) *fixture {
	t.Helper()
	store, err := local.New(t.TempDir())
	require.NoError(t, err)
	key, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	ident, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	f := &fixture{store: store, key: key, ident: ident, payload: randomPayload(t, 300_000)}
	f.src = &memSource{data: f.payload}
	cfg := backup.Config{
		Storage:    store,
		Source:     f.src,
		Recipients: []age.Recipient{ident.Recipient()},
		Identities: []age.Identity{ident},
		SigningKey: key,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	f.repo, err = backup.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.repo.Close() })
	return f
}

func (f *fixture) objectPath(m *backup.Manifest) string {
	return filepath.Join(f.store.Dir(), m.Object)
}

func TestRoundTripPerCompression(t *testing.T) {
	for _, comp := range []backup.Compression{backup.Zstd, backup.Gzip, backup.NoCompression} {
		t.Run(string(comp), func(t *testing.T) {
			f := newFixture(t, func(c *backup.Config) { c.Compression = comp })
			ctx := context.Background()
			m, err := f.repo.Create(ctx)
			require.NoError(t, err)
			assert.Equal(t, int64(len(f.payload)), m.RawSize)
			assert.Equal(t, comp, m.Compression)
			assert.Equal(t, "age-x25519", m.Encryption.Scheme)
			assert.Equal(t, []string{f.ident.Recipient().String()}, m.Encryption.Recipients)
			assert.Equal(t, map[string]string{"memdump": "1.0"}, m.Tools)
			stored, err := os.ReadFile(f.objectPath(m))
			require.NoError(t, err)
			assert.Equal(t, int64(len(stored)), m.StoredSize)
			assert.False(t, bytes.Contains(stored, f.payload[:64]), "stored object must be encrypted")

			for _, lvl := range []backup.Level{backup.VerifyChecksum, backup.VerifyFull} {
				v, err := f.repo.Verify(ctx, m.ID, backup.VerifyOptions{Level: lvl})
				require.NoError(t, err)
				assert.Equal(t, lvl, v.Level)
			}
			target := &memTarget{}
			got, err := f.repo.Restore(ctx, "latest", target, backup.RestoreOptions{})
			require.NoError(t, err)
			assert.Equal(t, m.ID, got.ID)
			assert.Equal(t, f.payload, target.data)
		})
	}
}

func TestPassphraseEncryption(t *testing.T) {
	rcp, err := age.NewScryptRecipient("correct horse battery staple")
	require.NoError(t, err)
	rcp.SetWorkFactor(10) // fast for the test; the default is 18
	id, err := age.NewScryptIdentity("correct horse battery staple")
	require.NoError(t, err)
	f := newFixture(t, func(c *backup.Config) {
		c.Recipients = []age.Recipient{rcp}
		c.Identities = []age.Identity{id}
	})
	ctx := context.Background()
	m, err := f.repo.Create(ctx)
	require.NoError(t, err)
	assert.Equal(t, backup.Encryption{Scheme: "age-scrypt"}, m.Encryption)
	target := &memTarget{}
	_, err = f.repo.Restore(ctx, m.ID, target, backup.RestoreOptions{})
	require.NoError(t, err)
	assert.Equal(t, f.payload, target.data)
}

func TestFailedDumpLeavesNoBackup(t *testing.T) {
	f := newFixture(t)
	f.src.failAfter = 100_000
	_, err := f.repo.Create(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exited with status 1")
	names, err := f.store.List(context.Background())
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{backup.RepositoryObject, backup.IndexObject}, names,
		"a failed dump must leave no object and no manifest (the repository's identity and empty index stay)")
	des, err := os.ReadDir(f.store.Dir())
	require.NoError(t, err)
	for _, de := range des {
		assert.False(t, strings.HasPrefix(de.Name(), ".tmp-"), "no temporary file either: %s", de.Name())
	}
}

// failingStorage fails every Put after reading some bytes.
type failingStorage struct{ *local.Storage }

func (s failingStorage) Put(_ context.Context, _ string, r io.Reader) error {
	_, _ = io.CopyN(io.Discard, r, 1000)
	return errors.New("disk full")
}

func TestStorageFailureFailsBackup(t *testing.T) {
	f := newFixture(t)
	repo, err := backup.New(backup.Config{Storage: failingStorage{f.store}, Source: f.src, Unencrypted: true, SigningKey: f.key})
	require.NoError(t, err)
	defer func() { _ = repo.Close() }()
	_, err = repo.Create(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disk full")
}

func TestCorruptionIsDetectedAndRefused(t *testing.T) {
	cases := []struct {
		name    string
		corrupt func(t *testing.T, f *fixture, m, other *backup.Manifest)
		want    error
	}{
		{"flipped byte", func(t *testing.T, f *fixture, m, _ *backup.Manifest) {
			b, err := os.ReadFile(f.objectPath(m))
			require.NoError(t, err)
			b[len(b)/2] ^= 0x01
			require.NoError(t, os.WriteFile(f.objectPath(m), b, 0o600))
		}, backup.ErrCorrupt},
		{"truncated object", func(t *testing.T, f *fixture, m, _ *backup.Manifest) {
			require.NoError(t, os.Truncate(f.objectPath(m), m.StoredSize-100))
		}, backup.ErrCorrupt},
		{"missing object", func(t *testing.T, f *fixture, m, _ *backup.Manifest) {
			require.NoError(t, os.Remove(f.objectPath(m)))
		}, backup.ErrCorrupt},
		{"swapped object", func(t *testing.T, f *fixture, m, other *backup.Manifest) {
			b, err := os.ReadFile(f.objectPath(other))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(f.objectPath(m), b, 0o600))
		}, backup.ErrCorrupt},
		{"swapped manifest", func(t *testing.T, f *fixture, m, other *backup.Manifest) {
			b, err := os.ReadFile(filepath.Join(f.store.Dir(), other.ID+".manifest.json"))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(f.store.Dir(), m.ID+".manifest.json"), b, 0o600))
		}, backup.ErrSignature},
		{"edited manifest", func(t *testing.T, f *fixture, m, _ *backup.Manifest) {
			p := filepath.Join(f.store.Dir(), m.ID+".manifest.json")
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			b = bytes.Replace(b, []byte(m.StoredSHA256), []byte(strings.Repeat("0", 64)), 1)
			require.NoError(t, os.WriteFile(p, b, 0o600))
		}, backup.ErrSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			m, err := f.repo.Create(ctx)
			require.NoError(t, err)
			f.src.data = randomPayload(t, 200_000)
			other, err := f.repo.Create(ctx)
			require.NoError(t, err)
			tc.corrupt(t, f, m, other)

			for _, lvl := range []backup.Level{backup.VerifyChecksum, backup.VerifyFull} {
				_, err = f.repo.Verify(ctx, m.ID, backup.VerifyOptions{Level: lvl})
				require.ErrorIs(t, err, tc.want, "verify %s", lvl)
			}
			target := &memTarget{}
			_, err = f.repo.Restore(ctx, m.ID, target, backup.RestoreOptions{})
			require.ErrorIs(t, err, tc.want)
			assert.False(t, target.restored)
			assert.Nil(t, target.data, "nothing may reach the target")

			// The other backup is untouched and still restores.
			_, err = f.repo.Restore(ctx, other.ID, target, backup.RestoreOptions{})
			require.NoError(t, err)
		})
	}
}

func TestCorruptPlainStreamFailsTheTargetsRead(t *testing.T) {
	// A manifest whose plain checksum is wrong but correctly signed can
	// only come from a bug, but the target must still see an error, not EOF.
	f := newFixture(t, func(c *backup.Config) { c.Unencrypted = true; c.Recipients = nil })
	ctx := context.Background()
	m, err := f.repo.Create(ctx)
	require.NoError(t, err)
	m.RawSHA256 = strings.Repeat("ab", 32)
	data, err := backup.EncodeManifest(m, f.key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(f.store.Dir(), m.ID+".manifest.json"), data, 0o600))
	target := &memTarget{}
	_, err = f.repo.Restore(ctx, m.ID, target, backup.RestoreOptions{})
	require.ErrorIs(t, err, backup.ErrCorrupt)
	assert.ErrorIs(t, target.readErr, backup.ErrCorrupt)
	assert.False(t, target.restored)
}

func TestUntrustedSignerIsRejected(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m, err := f.repo.Create(ctx)
	require.NoError(t, err)
	stranger, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	repo, err := backup.New(backup.Config{Storage: f.store, VerifyKeys: []ed25519.PublicKey{stranger.Public()}})
	require.NoError(t, err)
	defer func() { _ = repo.Close() }()
	_, err = repo.Verify(ctx, m.ID, backup.VerifyOptions{Level: backup.VerifyChecksum})
	require.ErrorIs(t, err, backup.ErrSignature)
	entries, err := repo.List(ctx)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.ErrorIs(t, entries[0].Err, backup.ErrSignature)
}

func TestRestoreRefusesNonEmptyTargetWithoutForce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.repo.Create(ctx)
	require.NoError(t, err)
	target := &memTarget{data: []byte("existing")}
	_, err = f.repo.Restore(ctx, "", target, backup.RestoreOptions{})
	require.ErrorIs(t, err, backup.ErrTargetNotEmpty)
	assert.Equal(t, []byte("existing"), target.data)
	_, err = f.repo.Restore(ctx, "", target, backup.RestoreOptions{Force: true})
	require.NoError(t, err)
	assert.Equal(t, f.payload, target.data)
}

type otherTarget struct{ memTarget }

func (*otherTarget) Driver() string { return "other" }

func TestRestoreRefusesOtherDriver(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.repo.Create(ctx)
	require.NoError(t, err)
	_, err = f.repo.Restore(ctx, "", &otherTarget{}, backup.RestoreOptions{})
	require.ErrorIs(t, err, backup.ErrDriverMismatch)
}

func TestVerifyRestoreLevelAndRecord(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m, err := f.repo.Create(ctx)
	require.NoError(t, err)
	_, err = f.repo.Verify(ctx, m.ID, backup.VerifyOptions{Level: backup.VerifyRestore})
	require.Error(t, err, "a trial restore needs a trial target")
	v, err := f.repo.Verify(ctx, m.ID, backup.VerifyOptions{Level: backup.VerifyRestore, Trial: &memTarget{}, SanityQuery: "q"})
	require.NoError(t, err)
	assert.Equal(t, backup.VerifyRestore, v.Level)
	assert.True(t, strings.HasPrefix(v.Detail, "q:"))
	entries, err := f.repo.List(ctx)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.NotNil(t, entries[0].Verification)
	assert.Equal(t, backup.VerifyRestore, entries[0].Verification.Level)
}

func TestWrongIdentityIsNotCorruption(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	m, err := f.repo.Create(ctx)
	require.NoError(t, err)
	other, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	repo, err := backup.New(backup.Config{Storage: f.store, VerifyKeys: []ed25519.PublicKey{f.key.Public()}, Identities: []age.Identity{other}})
	require.NoError(t, err)
	defer func() { _ = repo.Close() }()
	_, err = repo.Verify(ctx, m.ID, backup.VerifyOptions{Level: backup.VerifyFull})
	require.Error(t, err)
	assert.NotErrorIs(t, err, backup.ErrCorrupt)
	assert.Contains(t, err.Error(), "Identities")

	noKeys, err := backup.New(backup.Config{Storage: f.store, VerifyKeys: []ed25519.PublicKey{f.key.Public()}})
	require.NoError(t, err)
	defer func() { _ = noKeys.Close() }()
	_, err = noKeys.Verify(ctx, m.ID, backup.VerifyOptions{Level: backup.VerifyFull})
	require.ErrorContains(t, err, "Config.Identities is empty")
	assert.NotErrorIs(t, err, backup.ErrCorrupt)
	_, err = noKeys.Verify(ctx, m.ID, backup.VerifyOptions{Level: backup.VerifyChecksum})
	require.NoError(t, err, "a checksum verify needs no decryption key")
}

func TestConfigValidationNamesTheField(t *testing.T) {
	store, err := local.New(t.TempDir())
	require.NoError(t, err)
	key, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	cases := []struct {
		cfg  backup.Config
		want string
	}{
		{backup.Config{}, "Config.Storage"},
		{backup.Config{Storage: store, SigningKey: key, Compression: "lz4"}, "Config.Compression"},
		{backup.Config{Storage: store, SigningKey: key, Source: &memSource{}}, "Config.Recipients"},
		{backup.Config{Storage: store, Source: &memSource{}, Unencrypted: true}, "Config.SigningKey"},
		{backup.Config{Storage: store}, "Config.VerifyKeys"},
		{backup.Config{Storage: store, VerifyKeys: []ed25519.PublicKey{{1, 2}}}, "Config.VerifyKeys[0]"},
	}
	for _, tc := range cases {
		_, err := backup.New(tc.cfg)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
		assert.True(t, strings.HasPrefix(err.Error(), "backup: "))
	}
	repo, err := backup.New(backup.Config{Storage: store, SigningKey: key})
	require.NoError(t, err)
	defer func() { _ = repo.Close() }()
	_, err = repo.Create(context.Background())
	require.ErrorIs(t, err, backup.ErrNoSource)
}

func TestSecretsDoNotPrint(t *testing.T) {
	key, err := backup.GenerateSigningKey()
	require.NoError(t, err)
	pemBytes, err := key.MarshalPEM()
	require.NoError(t, err)
	for _, s := range []string{key.String(), fmt.Sprintf("%v %+v %s %x", key, key, key, key)} {
		assert.NotContains(t, s, string(pemBytes[30:50]))
		assert.Contains(t, s, "[REDACTED]")
	}
	back, err := backup.ParseSigningKey(pemBytes)
	require.NoError(t, err)
	assert.Equal(t, key.Public(), back.Public())
}
