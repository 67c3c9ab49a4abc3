package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/s3"
	"github.com/keel-go/keel/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// minio-go's shared HTTP transport keeps idle connections.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

const bucket = "keel-backups"

// startVersityGW runs versitygw on loopback with a posix backend in a temp
// directory and returns a Config for it.
func startVersityGW(t *testing.T) s3.Config {
	t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil { // go install puts it in GOBIN or GOPATH/bin, often not in PATH
		home, _ := os.UserHomeDir()
		for _, d := range []string{os.Getenv("GOBIN"), filepath.Join(os.Getenv("GOPATH"), "bin"), filepath.Join(home, "go", "bin")} {
			if p := filepath.Join(d, "versitygw"); d != "" && d != "bin" {
				if _, serr := os.Stat(p); serr == nil {
					bin, err = p, nil
					break
				}
			}
		}
	}
	if err != nil {
		if testenv.InCI() {
			t.Fatal("versitygw is required when CI=true: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
		}
		t.Skip("skipping: versitygw not installed (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	root := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, bucket), 0o755))
	cfg := s3.Config{Endpoint: addr, Bucket: bucket, AccessKeyID: "keeltest", SecretAccessKey: "keeltest-secret-key", Insecure: true, PartSize: 5 << 20}
	cmd := exec.Command(bin, "--port", addr, "posix", root)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+cfg.AccessKeyID, "ROOT_SECRET_KEY="+cfg.SecretAccessKey)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not start: %s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cfg
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
