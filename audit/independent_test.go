package audit

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIndependentVerifier runs testdata/verify.py, a verifier written from
// docs/FORMATS.md alone, over logs this package writes: the format
// specification is exact enough to be implemented without the Go code.
func TestIndependentVerifier(t *testing.T) {
	if err := exec.Command("python3", "-c", "import cryptography").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 with the cryptography module is required in CI: %v", err)
		}
		t.Skip("python3 with the cryptography module is not installed")
	}
	key := base64.StdEncoding.EncodeToString(pub(testKey(t)))
	run := func(dir string) (string, error) {
		out, err := exec.Command("python3", filepath.Join("testdata", "verify.py"), dir, key).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}

	dir := t.TempDir()
	writeLog(t, dir, 40, func(c *Config, f *FileSinkConfig) {
		c.CheckpointEvery = 7
		f.MaxSize = 4 << 10 // several segments
		c.Sensitive = []SensitiveField{{Name: "seats", Treatment: HMAC}}
		c.HMACKey = []byte("0123456789abcdef0123456789abcdef")
	})
	names, err := listSegments(dir)
	require.NoError(t, err)
	require.Greater(t, len(names), 1)
	out, err := run(dir)
	require.NoError(t, err, out)
	assert.Equal(t, "OK 40", out)

	// Retention: without its first segment the log still verifies in both.
	first := filepath.Join(dir, names[0])
	saved, err := os.ReadFile(first)
	require.NoError(t, err)
	require.NoError(t, os.Remove(first))
	out, err = run(dir)
	require.NoError(t, err, out)
	_, err = verifyDir(t, dir, false)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(first, saved, 0o600))

	// Both verifiers reject the same edits at the same record.
	edits := map[string]func(lines []string) []string{
		"swap":   func(l []string) []string { l[2], l[3] = l[3], l[2]; return l },
		"delete": func(l []string) []string { return append(l[:4:4], l[5:]...) },
		"modify": func(l []string) []string {
			l[1] = strings.Replace(l[1], "license.update", "license.delete", 1)
			return l
		},
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			lines := strings.SplitAfter(string(saved), "\n")
			require.NoError(t, os.WriteFile(first, []byte(strings.Join(edit(lines), "")), 0o600))
			defer func() { require.NoError(t, os.WriteFile(first, saved, 0o600)) }()
			out, err := run(dir)
			require.Error(t, err)
			_, verr := verifyDir(t, dir, false)
			var ve *VerifyError
			require.ErrorAs(t, verr, &ve)
			assert.Contains(t, out, "BAD seq="+strconv.FormatUint(ve.Seq, 10)+":", "go: %v", verr)
		})
	}
}
