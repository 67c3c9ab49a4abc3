package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newLimitedApp(t *testing.T, cfg Config) *App {
	t.Helper()
	keys, err := ParseAPIKeys(testAdminKey + "=admin," + testSalesKey + "=sales")
	require.NoError(t, err)
	cfg.DataDir, cfg.APIKeys, cfg.GatewayURL = t.TempDir(), keys, "http://127.0.0.1:1"
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := New(context.Background(), cfg, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// TestAPIKeyMinuteAndHourLimits: each API key is held to a per-minute and a
// per-hour limit at once. The RateLimit fields report both; when the hour's
// is spent, the 429 names it, though the minute's still has room.
func TestAPIKeyMinuteAndHourLimits(t *testing.T) {
	a := newLimitedApp(t, Config{RateLimit: 600, RateLimitHour: 20}) // minute burst 60, hour burst 20
	first := call(t, a, testSalesKey, "GET", "/v1/orders/ord_missing", "")
	require.Equal(t, http.StatusNotFound, first.Code, first.Body.String())
	assert.Contains(t, first.Header().Get("RateLimit-Policy"), `"api_key";q=600;w=60`)
	assert.Contains(t, first.Header().Get("RateLimit-Policy"), `"api_key_hour";q=20;w=3600`)
	assert.Contains(t, first.Header().Get("RateLimit"), `"api_key_hour";r=19`)
	assert.Contains(t, first.Header().Get("RateLimit"), `"api_key";r=59`)
	for i := 2; i <= 20; i++ {
		w := call(t, a, testSalesKey, "GET", "/v1/orders/ord_missing", "")
		require.Equal(t, http.StatusNotFound, w.Code, "request %d: %s", i, w.Body.String())
	}
	w := call(t, a, testSalesKey, "GET", "/v1/orders/ord_missing", "")
	require.Equal(t, http.StatusTooManyRequests, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), `"violated-policies":["api_key_hour"]`)
	retry, err := strconv.Atoi(w.Header().Get("Retry-After"))
	require.NoError(t, err)
	assert.InDelta(t, 180, retry, 2, "one request of 20 per hour is restored every 3 minutes")
	// Another key has its own limits.
	assert.Equal(t, http.StatusNotFound, call(t, a, testAdminKey, "GET", "/v1/orders/ord_missing", "").Code)
}

// TestRedisOutageDegradesToTheLocalShare runs the app on a private Redis
// and kills it: with -rate-limit-redis-down local (the default) and two
// instances, the instance enforces half of each key's burst by itself,
// where fail-open would admit everything and fail-closed refuse everything.
func TestRedisOutageDegradesToTheLocalShare(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	_, port, _ := net.SplitHostPort(addr)
	srv := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	require.NoError(t, srv.Start())
	killed := false
	kill := func() {
		if !killed {
			killed = true
			_ = srv.Process.Kill()
			_ = srv.Wait()
		}
	}
	t.Cleanup(kill)
	ping := redis.NewClient(&redis.Options{Addr: addr})
	defer ping.Close()
	require.Eventually(t, func() bool { return ping.Ping(context.Background()).Err() == nil }, 5*time.Second, 20*time.Millisecond)

	a := newLimitedApp(t, Config{RedisAddr: addr, RateLimit: 60, Instances: 2}) // burst 10, 5 per instance while degraded
	up := call(t, a, testSalesKey, "GET", "/v1/orders/ord_missing", "")
	require.Equal(t, http.StatusNotFound, up.Code, up.Body.String())
	assert.Contains(t, up.Header().Get("RateLimit"), `"api_key";r=9`, "the shared bucket in Redis")

	kill()
	var admitted, limited int
	for range 15 {
		switch w := call(t, a, testSalesKey, "GET", "/v1/orders/ord_missing", ""); w.Code {
		case http.StatusNotFound:
			admitted++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("while Redis is down: %d %s", w.Code, w.Body.String())
		}
	}
	// Half the burst (5), plus what half the rate (0.5/s) restores while
	// the requests run.
	assert.GreaterOrEqual(t, admitted, 5, "degraded, not closed")
	assert.LessOrEqual(t, admitted, 7, "degraded, not open")
	assert.Equal(t, 15-admitted, limited)
}
