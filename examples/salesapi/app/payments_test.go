package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/breaker"
	"github.com/keel-go/keel/examples/salesapi/gateway"
)

// TestGatewayRefusalsDoNotOpenTheBreaker sends the real simulated gateway
// more invalid charges than the breaker's consecutive-failure threshold
// (40): each is answered 400 once, without a retry, and the breaker stays
// closed, so a valid charge goes through next. A 4xx is the gateway
// working; only its failures may open the breaker.
func TestGatewayRefusalsDoNotOpenTheBreaker(t *testing.T) {
	gw, err := gateway.Start("127.0.0.1:0", gateway.Chaos{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = gw.Close() })
	keys, err := ParseAPIKeys(testAdminKey + "=admin")
	require.NoError(t, err)
	a, err := New(context.Background(), Config{DataDir: t.TempDir(), APIKeys: keys, GatewayURL: gw.URL(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })

	ctx := context.Background()
	const refusals = 60
	for i := range refusals {
		_, err := a.charge(ctx, newID("pay_"), gateway.ChargeRequest{AmountCents: 0, Currency: "EUR", Reference: "invalid"})
		var status *errGatewayStatus
		require.True(t, errors.As(err, &status), "charge %d: %v", i, err)
		require.Equal(t, http.StatusBadRequest, status.status, "charge %d", i)
	}
	assert.Equal(t, breaker.Closed, a.payBreaker.State(), "%d gateway refusals opened the breaker", refusals)
	_, calls := gw.Stats()
	assert.Equal(t, refusals, calls, "a refusal is an answer: never retried")

	ch, err := a.charge(ctx, newID("pay_"), gateway.ChargeRequest{AmountCents: 100, Currency: "EUR", Reference: "valid"})
	require.NoError(t, err)
	assert.NotEmpty(t, ch.ID)
}

// A gateway that is busy (429) or still working on the key's charge (409)
// when the retries run out has not refused the charge: the client is told
// to retry with its key, not that retrying will not help; a 400 is a
// refusal.
func TestGatewayBusyIsNotAFinalRefusal(t *testing.T) {
	a := &App{cfg: Config{Logger: slog.New(slog.DiscardHandler)}}
	for status, want := range map[int]string{
		http.StatusTooManyRequests: "retry with the same Idempotency-Key",
		http.StatusConflict:        "retry with the same Idempotency-Key",
		http.StatusBadRequest:      "retrying will not help",
	} {
		w := httptest.NewRecorder()
		a.paymentFailed(w, httptest.NewRequest("POST", "/v1/orders", nil), fmt.Errorf("charge: %w", &errGatewayStatus{status: status}))
		assert.Equal(t, http.StatusBadGateway, w.Code, "gateway %d", status)
		assert.Contains(t, w.Body.String(), want, "gateway %d", status)
	}
}
