package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/s3"
	"github.com/keel-go/keel/backup/s3/s3test"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// minio-go's shared HTTP transport keeps idle connections.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

// startVersityGW runs versitygw and returns a Config for it.
func startVersityGW(t *testing.T) s3.Config {
	srv := s3test.Start(t)
	return s3.Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket, AccessKeyID: srv.AccessKeyID,
		SecretAccessKey: srv.SecretAccessKey, Insecure: true, PartSize: 5 << 20}
}

type failingReader struct {
	r     io.Reader
	limit int
	n     int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n >= f.limit {
		return 0, errors.New("dump died")
	}
	n, err := f.r.Read(p[:min(len(p), f.limit-f.n)])
	f.n += n
	return n, err
}

func TestStorageAgainstVersityGW(t *testing.T) {
	cfg := startVersityGW(t)
	cfg.Prefix = "sales/"
	st, err := s3.New(cfg)
	require.NoError(t, err)
	ctx := context.Background()

	// 12 MiB: three parts of 5 MiB, streamed with unknown length.
	big := make([]byte, 12<<20)
	_, err = rand.Read(big)
	require.NoError(t, err)
	require.NoError(t, st.Put(ctx, "a.backup", bytes.NewReader(big)))
	require.NoError(t, st.Put(ctx, "a.manifest.json", bytes.NewReader([]byte("{}"))))
	rc, err := st.Get(ctx, "a.backup")
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	assert.Equal(t, big, got)

	names, err := st.List(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"a.backup", "a.manifest.json"}, names)

	// A reader that fails mid-way leaves no object and no pending upload.
	err = st.Put(ctx, "b.backup", &failingReader{r: bytes.NewReader(big), limit: 7 << 20})
	require.ErrorContains(t, err, "dump died")
	_, err = st.Get(ctx, "b.backup")
	require.ErrorIs(t, err, backup.ErrNotFound)
	client, err := minio.New(cfg.Endpoint, &minio.Options{Creds: credentialsFor(cfg), Secure: false})
	require.NoError(t, err)
	for up := range client.ListIncompleteUploads(ctx, cfg.Bucket, cfg.Prefix, true) {
		require.NoError(t, up.Err)
		t.Errorf("incomplete upload left behind: %s", up.Key)
	}

	require.NoError(t, st.Delete(ctx, "a.backup"))
	require.NoError(t, st.Delete(ctx, "a.backup"), "deleting a missing object is not an error")
	_, err = st.Get(ctx, "a.backup")
	require.ErrorIs(t, err, backup.ErrNotFound)
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		cfg  s3.Config
		want string
	}{
		{s3.Config{}, "Config.Endpoint"},
		{s3.Config{Endpoint: "x"}, "Config.Bucket"},
		{s3.Config{Endpoint: "x", Bucket: "b"}, "Config.AccessKeyID"},
		{s3.Config{Endpoint: "x", Bucket: "b", AccessKeyID: "a", SecretAccessKey: "s", PartSize: 1024}, "Config.PartSize"},
	} {
		_, err := s3.New(tc.cfg)
		require.ErrorContains(t, err, tc.want)
	}
}
