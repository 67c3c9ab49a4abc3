package fernet

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pythonsWithCryptography returns the Python interpreters that can import
// cryptography: the one on PATH and Debian's /usr/bin/python3 (which CI
// gives python3-cryptography). With none, the test skips naming what it
// wanted, or fails with CI=true.
func pythonsWithCryptography(t *testing.T) []string {
	t.Helper()
	var found []string
	seen := map[string]bool{}
	for _, name := range []string{"python3", "/usr/bin/python3"} {
		p, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		if exec.Command(p, "-c", "import cryptography.fernet").Run() == nil {
			found = append(found, p)
		}
	}
	if len(found) == 0 {
		msg := "Fernet interop needs python3 with the cryptography package (Debian: python3-cryptography)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + ": absent with CI=true")
		}
		t.Skip(msg + ": not installed")
	}
	return found
}

// The script reads its input as JSON on stdin, so the key never appears in
// the process arguments.
const interopScript = `
import base64, json, sys
from cryptography.fernet import Fernet
req = json.load(sys.stdin)
f = Fernet(req["key"].encode())
out = {"decrypted": base64.b64encode(f.decrypt(req["token"].encode(), ttl=60)).decode(),
       "token": f.encrypt(base64.b64decode(req["message"])).decode()}
try:
    f.decrypt(req["tampered"].encode(), ttl=60)
    out["tampered_rejected"] = False
except Exception:
    out["tampered_rejected"] = True
new_key = Fernet.generate_key()
out["new_key"] = new_key.decode()
out["new_token"] = Fernet(new_key).encrypt(b"from python").decode()
import cryptography
out["version"] = cryptography.__version__
json.dump(out, sys.stdout)
`

func TestPythonCryptographyInterop(t *testing.T) {
	for _, py := range pythonsWithCryptography(t) {
		t.Run(strings.TrimPrefix(strings.ReplaceAll(py, "/", "_"), "_"), func(t *testing.T) {
			k, err := GenerateKey()
			require.NoError(t, err)
			msg := []byte("customer 42: ünïcode and \x00 bytes")
			ours, err := Encrypt(k, msg)
			require.NoError(t, err)
			raw, _ := base64.URLEncoding.DecodeString(ours)
			raw[len(raw)-40] ^= 1
			req, err := json.Marshal(map[string]string{
				"key": k.Encode(), "token": ours, "message": base64.StdEncoding.EncodeToString(msg),
				"tampered": base64.URLEncoding.EncodeToString(raw),
			})
			require.NoError(t, err)

			cmd := exec.Command(py, "-c", interopScript)
			cmd.Stdin = bytes.NewReader(req)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			require.NoError(t, err, stderr.String())
			var res struct {
				Decrypted        string `json:"decrypted"`
				Token            string `json:"token"`
				NewKey           string `json:"new_key"`
				NewToken         string `json:"new_token"`
				Version          string `json:"version"`
				TamperedRejected bool   `json:"tampered_rejected"`
			}
			require.NoError(t, json.Unmarshal(out, &res))
			t.Logf("python cryptography %s", res.Version)

			// Go → Python
			got, err := base64.StdEncoding.DecodeString(res.Decrypted)
			require.NoError(t, err)
			assert.Equal(t, msg, got)
			assert.True(t, res.TamperedRejected)
			// Python → Go
			got, err = Decrypt(res.Token, time.Minute, k)
			require.NoError(t, err)
			assert.Equal(t, msg, got)
			pk, err := DecodeKey(res.NewKey)
			require.NoError(t, err)
			got, err = Decrypt(res.NewToken, time.Minute, pk)
			require.NoError(t, err)
			assert.Equal(t, "from python", string(got))
		})
	}
}
