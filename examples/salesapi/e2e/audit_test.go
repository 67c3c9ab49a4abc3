package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// truncateAuditToFirstClose cuts the audit log of dataDir right after its
// first "close" checkpoint, as someone with write access to the data
// directory could, keeping the cut log well formed.
func truncateAuditToFirstClose(t *testing.T, dataDir string) {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dataDir, "audit", "audit-*.jsonl"))
	require.NoError(t, err)
	require.Len(t, segs, 1)
	data, err := os.ReadFile(segs[0])
	require.NoError(t, err)
	i := bytes.Index(data, []byte(`"reason":"close"`))
	require.Positive(t, i, "a stopped instance leaves a close checkpoint")
	end := i + bytes.IndexByte(data[i:], '\n') + 1
	require.Less(t, end, len(data), "there is something after the first close to cut")
	require.NoError(t, os.WriteFile(segs[0], data[:end], 0o600))
}

// Issue #15's first attack on the example: stop, truncate the audit log to
// its first close checkpoint, start. The witness in the service's database
// reveals it: the service refuses changes, /readyz fails, and
// GET /v1/audit/verify names the missing records; the operator's accepted
// recovery is itself audited.
func TestAuditRollbackIsReportedAndItsAcceptanceAudited(t *testing.T) {
	dir := t.TempDir()
	name := []string{"-instance-name", "e2e-rollback"}
	in := start(t, dir, sqliteBackend, name...)
	in.createCustomer("first.run@example.com", "+1 555 0100 21")
	in.Stop()
	in = start(t, dir, sqliteBackend, name...)
	id := in.createCustomer("second.run@example.com", "+1 555 0100 22")
	require.Equal(t, http.StatusOK, in.call("PATCH", "/v1/customers/"+id, in.Admin, map[string]string{"company": "Gone Ltd"}).Status)
	in.Stop()

	truncateAuditToFirstClose(t, dir)
	// The cut log alone still verifies: it ends with a signed close.
	pubkey := filepath.Join(dir, "audit-signing.pub")
	out, err := exec.Command(keelCLI, "audit", "verify", "-dir", filepath.Join(dir, "audit"), "-pubkey", pubkey, "-from-start").CombinedOutput()
	require.NoError(t, err, "%s", out)

	in = start(t, dir, sqliteBackend, name...)
	r := in.call("GET", "/v1/audit/verify", in.Admin, nil)
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Body)
	body := r.JSON(t)
	rb, ok := body["rollback"].(map[string]any)
	require.True(t, ok, "the report names the rollback: %s", r.Body)
	from, to := rb["missing_from"].(float64), rb["missing_to"].(float64)
	assert.Greater(t, to, from)
	assert.Contains(t, body["error"], fmt.Sprintf("records %d..%d are missing", int(from), int(to)))
	logID, seq, hash := rb["witnessed_log"].(string), int(rb["witnessed_seq"].(float64)), rb["witnessed_hash"].(string)

	w := in.call("POST", "/v1/customers", in.Admin, map[string]string{"name": "X", "email": "x@example.com", "phone": "+1 555 0100 23", "company": "X"})
	assert.Equal(t, http.StatusServiceUnavailable, w.Status, "no change is made that cannot be audited: %s", w.Body)
	assert.Contains(t, string(w.Body), "behind its witness")
	ready := in.call("GET", "/readyz", "", nil)
	assert.Equal(t, http.StatusServiceUnavailable, ready.Status, "%s", ready.Body)
	assert.Equal(t, http.StatusOK, in.call("GET", "/v1/customers/"+id, in.Admin, nil).Status, "reads still work")
	accept := fmt.Sprintf("%s:%d:%s", logID, seq, hash)
	assert.Contains(t, in.Output(), "-audit-accept-rollback "+accept, "the log says how to accept")
	assert.Contains(t, in.Output(), "beside the audit log", "the default SQLite witness is said to be weak")

	// The operator's tool sees it too, through the same witness.
	t.Setenv("E2E_WITNESS_DSN", filepath.Join(dir, "sales.db"))
	out, err = exec.Command(keelCLI, "audit", "verify", "-dir", filepath.Join(dir, "audit"), "-pubkey", pubkey,
		"-witness-driver", "sqlite", "-witness-dsn-env", "E2E_WITNESS_DSN", "-witness-name", "e2e-rollback", "-live").CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), fmt.Sprintf("records %d..%d are missing", int(from), int(to)))
	in.Stop()

	in = start(t, dir, sqliteBackend, append(name, "-audit-accept-rollback", accept,
		"-audit-accept-reason", "e2e: restored after the test's truncation")...)
	in.createCustomer("after.recovery@example.com", "+1 555 0100 24")
	r = in.call("GET", "/v1/audit/verify", in.Admin, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, float64(1), r.JSON(t)["report"].(map[string]any)["rollbacks"])
	q := in.call("GET", "/v1/audit/verify", in.Admin, nil)
	assert.Equal(t, http.StatusOK, q.Status)
	assert.Equal(t, http.StatusOK, in.call("GET", "/readyz", "", nil).Status)
}

// Issue #15's fourth attack: unauthenticated requests with huge headers no
// longer write their size into the audit log, and a flood of them is cut
// before it is audited.
func TestUnauthenticatedFloodsAreCappedAndLimited(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := start(t, dir, sqliteBackend)
	auditSize := func() int64 {
		var n int64
		segs, _ := filepath.Glob(filepath.Join(dir, "audit", "audit-*.jsonl"))
		for _, s := range segs {
			fi, err := os.Stat(s)
			require.NoError(t, err)
			n += fi.Size()
		}
		return n
	}
	before := auditSize()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", in.URL+"/v1/customers/"+strings.Repeat("p", 400<<10), nil)
	require.NoError(t, err)
	req.Header.Set("User-Agent", strings.Repeat("U", 400<<10))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	grown := auditSize() - before
	assert.Less(t, grown, int64(16<<10), "one 800 KB request wrote %d bytes of audit", grown)

	statuses := map[int]int{}
	for range 100 {
		statuses[in.call("GET", "/v1/customers", "not-a-valid-key-at-all", nil).Status]++
	}
	assert.Positive(t, statuses[http.StatusTooManyRequests], "%v", statuses)
	assert.LessOrEqual(t, statuses[http.StatusUnauthorized], 25, "the burst of audited failures is bounded: %v", statuses)
	q := in.call("GET", "/v1/audit?outcome=denied&limit=1000", in.Admin, nil)
	require.Equal(t, http.StatusOK, q.Status)
	assert.Equal(t, statuses[http.StatusUnauthorized]+1, strings.Count(string(q.Body), `"http.request"`),
		"every 401 is audited and no 429 of the flood is")
}
