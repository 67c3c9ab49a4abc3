package breaker_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/breaker"
)

func TestTransportBreaksPerHost(t *testing.T) {
	var badHits atomic.Int32
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		badHits.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer bad.Close()
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer good.Close()

	tr, err := breaker.NewTransport(breaker.TransportConfig{Breaker: breaker.Config{ConsecutiveFailures: 3}})
	require.NoError(t, err)
	client := &http.Client{Transport: tr}
	defer client.CloseIdleConnections()

	for range 3 {
		resp, err := client.Get(bad.URL)
		require.NoError(t, err, "a failing response is still returned")
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
		resp.Body.Close()
	}
	_, err = client.Get(bad.URL)
	require.ErrorIs(t, err, breaker.ErrOpen)
	var oe *breaker.OpenError
	require.True(t, errors.As(err, &oe))
	assert.Equal(t, "http/"+bad.Listener.Addr().String(), oe.Name)
	assert.Equal(t, int32(3), badHits.Load(), "the rejected request never reached the host")

	resp, err := client.Get(good.URL)
	require.NoError(t, err, "another host has its own breaker")
	resp.Body.Close()

	b, err := tr.Breaker(bad.Listener.Addr().String())
	require.NoError(t, err)
	assert.Equal(t, breaker.Open, b.State())
	b.Reset()
	resp, err = client.Get(bad.URL)
	require.NoError(t, err)
	resp.Body.Close()
}

func TestNewTransportValidates(t *testing.T) {
	_, err := breaker.NewTransport(breaker.TransportConfig{Breaker: breaker.Config{FailureRate: 2}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Config.FailureRate")
}
