package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/examples/salesapi/app"
	"github.com/keel-go/keel/examples/salesapi/gateway"
)

// Failed authentications are limited per client as the per-IP limit keys
// it (IPv6 by /64): rotating addresses within one's own prefix does not buy
// more audited 401s.
func TestAuthFailureLimitKeysIPv6ByPrefix(t *testing.T) {
	ctx := context.Background()
	gw, err := gateway.Start("127.0.0.1:0", gateway.Chaos{})
	require.NoError(t, err)
	defer gw.Close()
	keys, err := app.ParseAPIKeys("limit-test-admin-key-0123456789abcdef=admin")
	require.NoError(t, err)
	a, err := app.New(ctx, app.Config{DataDir: t.TempDir(), APIKeys: keys, GatewayURL: gw.URL()}, nil)
	require.NoError(t, err)
	defer a.Close()
	statuses := func(addr func(i int) string) map[int]int {
		st := map[int]int{}
		for i := range 100 {
			r := httptest.NewRequest("GET", "/v1/customers", nil)
			r.RemoteAddr = addr(i)
			r.Header.Set("Authorization", "Bearer wrong")
			w := httptest.NewRecorder()
			a.Handler().ServeHTTP(w, r)
			st[w.Code]++
		}
		return st
	}
	one := statuses(func(int) string { return "[2001:db8:1:2::1]:4000" })
	rotating := statuses(func(i int) string { return fmt.Sprintf("[2001:db8:1:3::%x]:4000", i+1) })
	assert.Equal(t, 20, one[http.StatusUnauthorized], "the burst: %v", one)
	assert.Equal(t, 20, rotating[http.StatusUnauthorized], "the same burst for a whole /64: %v", rotating)
	assert.Equal(t, 80, rotating[http.StatusTooManyRequests])
}
