package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
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
	assert.Equal(t, "ch_000001", first.ID)
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
