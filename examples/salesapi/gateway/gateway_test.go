package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func post(t *testing.T, g *Gateway, key string, amount int64) *http.Response {
	t.Helper()
	body, _ := json.Marshal(ChargeRequest{AmountCents: amount, Currency: "EUR", Reference: "o1"})
	req, err := http.NewRequest(http.MethodPost, g.URL()+"/charges", bytes.NewReader(body))
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestGatewayChargesOncePerKey(t *testing.T) {
	g, err := Start("127.0.0.1:0", Chaos{})
	require.NoError(t, err)
	defer g.Close()

	var first, second Charge
	require.Equal(t, http.StatusOK, post(t, g, "k1", 500).StatusCode)
	r := post(t, g, "k1", 500)
	require.Equal(t, http.StatusOK, r.StatusCode)
	assert.Equal(t, "true", r.Header.Get("Idempotent-Replayed"))
	require.NoError(t, json.NewDecoder(r.Body).Decode(&second))
	first = second
	assert.Regexp(t, `^ch_[0-9a-f]{24}$`, first.ID)
	require.Equal(t, http.StatusOK, post(t, g, "k2", 700).StatusCode)
	charges, calls := g.Stats()
	assert.Equal(t, 2, charges)
	assert.Equal(t, 3, calls)
	assert.Equal(t, http.StatusBadRequest, post(t, g, "", 1).StatusCode)
}

func TestGatewayChaos(t *testing.T) {
	g, err := Start("127.0.0.1:0", Chaos{Down: true})
	require.NoError(t, err)
	defer g.Close()
	assert.Equal(t, http.StatusServiceUnavailable, post(t, g, "k", 1).StatusCode)
	require.NoError(t, g.SetChaos(Chaos{}))
	assert.Equal(t, http.StatusOK, post(t, g, "k", 1).StatusCode)
	require.NoError(t, g.SetChaos(Chaos{FailureRate: 1}))
	assert.Equal(t, http.StatusServiceUnavailable, post(t, g, "k2", 1).StatusCode)
	assert.ErrorContains(t, g.SetChaos(Chaos{FailureRate: 2}), "failure_rate")
	charges, _ := g.Stats()
	assert.Equal(t, 1, charges)
}

func decodeCharge(t *testing.T, r *http.Response) Charge {
	t.Helper()
	require.Equal(t, http.StatusOK, r.StatusCode)
	var c Charge
	require.NoError(t, json.NewDecoder(r.Body).Decode(&c))
	return c
}

// A gateway reopened on its file answers a key it charged before with that
// charge and charges nothing more; ids never repeat across runs or across
// gateways, which the in-memory numbering (ch_000001 in every instance) did.
func TestGatewayKeepsItsChargesAcrossRestarts(t *testing.T) {
	file := filepath.Join(t.TempDir(), "gateway.db")
	g, err := Open(Config{Addr: "127.0.0.1:0", File: file})
	require.NoError(t, err)
	first := decodeCharge(t, post(t, g, "k1", 500))
	other := decodeCharge(t, post(t, g, "k2", 700))
	require.NoError(t, g.Close())
	info, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the charges file is private")

	g, err = Open(Config{Addr: "127.0.0.1:0", File: file})
	require.NoError(t, err)
	defer g.Close()
	charges, _ := g.Stats()
	assert.Equal(t, 2, charges, "the charges of the earlier run are counted")
	r := post(t, g, "k1", 500)
	assert.Equal(t, "true", r.Header.Get("Idempotent-Replayed"))
	assert.Equal(t, first, decodeCharge(t, r), "the restarted gateway answers with the first charge")
	third := decodeCharge(t, post(t, g, "k3", 900))
	charges, calls := g.Stats()
	assert.Equal(t, 3, charges)
	assert.Equal(t, 2, calls, "calls count this run")

	elsewhere, err := Start("127.0.0.1:0", Chaos{})
	require.NoError(t, err)
	defer elsewhere.Close()
	fourth := decodeCharge(t, post(t, elsewhere, "k1", 500))
	ids := map[string]bool{first.ID: true, other.ID: true, third.ID: true, fourth.ID: true}
	assert.Len(t, ids, 4, "charge ids are unique across runs and gateways: %v", ids)
}

// A charge whose caller leaves while it is being written is still a charge,
// counted and answered to the retry: the driver reports an insert that
// committed as failed when the context ends during it, and the count once
// missed such a charge (e2e saw one charge for two keys).
func TestChargeOnceFinishesWhenItsCallerLeaves(t *testing.T) {
	store, err := openChargeStore(filepath.Join(t.TempDir(), "gateway.db"))
	require.NoError(t, err)
	defer store.Close()
	left, cancel := context.WithCancel(context.Background())
	cancel()
	c, seen, err := store.ChargeOnce(left, "k1", Charge{AmountCents: 100, Currency: "EUR"})
	require.NoError(t, err, "a charge begun runs to the end")
	assert.False(t, seen)
	assert.Equal(t, 1, store.Count())
	again, seen, err := store.ChargeOnce(context.Background(), "k1", Charge{AmountCents: 100, Currency: "EUR"})
	require.NoError(t, err)
	assert.True(t, seen)
	assert.Equal(t, c.ID, again.ID)
	var rows int
	require.NoError(t, store.db.QueryRow(`SELECT COUNT(*) FROM charges`).Scan(&rows))
	assert.Equal(t, rows, store.Count(), "the count is what is on disk")
}
