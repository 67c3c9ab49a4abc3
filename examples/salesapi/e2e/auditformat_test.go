package e2e

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/audit"
)

// TestAuditQueryHTTPAndCLIPrintOneFormat: GET /v1/audit and keel audit
// query give the same records in the same bytes — the stored lines of
// docs/FORMATS.md, with lowercase members, no empty ones, no base64 copy —
// the API as a JSON array with one record per line.
func TestAuditQueryHTTPAndCLIPrintOneFormat(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := start(t, dir, sqliteBackend)
	cust := in.createCustomer("format@example.com", "+1 555 0100 41")
	require.Equal(t, http.StatusOK, in.call("PATCH", "/v1/customers/"+cust, salesKey, map[string]string{"company": "Renamed"}).Status)

	q := in.call("GET", "/v1/audit?resource=customer:"+cust, adminKey, nil)
	require.Equal(t, http.StatusOK, q.Status, "%s", q.Body)
	body := string(q.Body)
	require.True(t, strings.HasPrefix(body, "[\n") && strings.HasSuffix(body, "\n]\n"), "%q", body)
	httpLines := strings.Split(strings.TrimSuffix(strings.TrimPrefix(body, "[\n"), "\n]\n"), ",\n")
	require.Len(t, httpLines, 2, "the create and the update")
	for _, member := range []string{`"Seq"`, `"Event"`, `"Line"`, `"Checkpoint":null`, `"Reason":""`} {
		assert.NotContains(t, body, member)
	}
	var recs []audit.Record
	require.NoError(t, json.Unmarshal(q.Body, &recs), "each element decodes and its hash matches")
	assert.Equal(t, "customer.create", recs[0].Event.Action)
	assert.Equal(t, "customer.update", recs[1].Event.Action)

	cli := exec.Command(keelCLI, "audit", "query", "-dir", filepath.Join(dir, "audit"), "-resource-type", "customer", "-resource-id", cust)
	out, err := cli.Output()
	require.NoError(t, err)
	assert.Equal(t, httpLines, strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"), "the same bytes, record for record")

	empty := in.call("GET", "/v1/audit?actor=nobody", adminKey, nil)
	require.Equal(t, http.StatusOK, empty.Status)
	var none []audit.Record
	require.NoError(t, json.Unmarshal(empty.Body, &none))
	assert.Empty(t, none)
}
