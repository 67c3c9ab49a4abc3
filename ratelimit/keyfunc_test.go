package ratelimit_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/ratelimit"
)

func TestClientIP(t *testing.T) {
	proxies := []string{"10.0.0.0/8", "192.0.2.1", "2001:db8:ffff::/48"}
	tests := []struct {
		name    string
		trusted []string
		remote  string
		xff     []string
		want    string
	}{
		{"direct peer, no proxies", nil, "203.0.113.7:4000", nil, "203.0.113.7"},
		{"header ignored from an untrusted peer", nil, "203.0.113.7:4000", []string{"198.51.100.1"}, "203.0.113.7"},
		{"header ignored when peer is not a proxy", proxies, "203.0.113.7:4000", []string{"198.51.100.1"}, "203.0.113.7"},
		{"one trusted proxy", proxies, "10.1.2.3:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"client-supplied entries left of the first untrusted hop are ignored", proxies,
			"10.1.2.3:80", []string{"6.6.6.6, 198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"entries over several field lines", proxies,
			"10.1.2.3:80", []string{"6.6.6.6", "198.51.100.1, 192.0.2.1"}, "198.51.100.1"},
		{"all hops trusted: leftmost", proxies, "10.1.2.3:80", []string{"10.0.0.5, 192.0.2.1"}, "10.0.0.5"},
		{"no header from a proxy: the proxy", proxies, "10.1.2.3:80", nil, "10.1.2.3"},
		{"malformed entry stops at the hop that passed it", proxies,
			"10.1.2.3:80", []string{"198.51.100.1, not-an-ip, 192.0.2.1"}, "192.0.2.1"},
		{"empty entries are skipped", proxies, "10.1.2.3:80", []string{"198.51.100.1, ,"}, "198.51.100.1"},
		{"entries with ports", proxies, "10.1.2.3:80", []string{"198.51.100.1:5555"}, "198.51.100.1"},
		{"IPv6 grouped by /64", nil, "[2001:db8:1:2:3:4:5:6]:443", nil, "2001:db8:1:2::/64"},
		{"bracketed IPv6 entry", proxies, "[2001:db8:ffff::1]:443", []string{"[2001:db8:1:2::9]"}, "2001:db8:1:2::/64"},
		{"IPv4-mapped peer is IPv4", nil, "[::ffff:203.0.113.7]:80", nil, "203.0.113.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ratelimit.ClientIP(ratelimit.ClientIPConfig{TrustedProxies: tt.trusted})
			require.NoError(t, err)
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			got, err := key(req)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestClientIPConfigErrors(t *testing.T) {
	_, err := ratelimit.ClientIP(ratelimit.ClientIPConfig{TrustedProxies: []string{"10.0.0.0/8", "lb.internal"}})
	assert.EqualError(t, err, `ratelimit: ClientIPConfig.TrustedProxies[1]: "lb.internal" is neither an IP address nor a CIDR prefix`)
	_, err = ratelimit.ClientIP(ratelimit.ClientIPConfig{IPv6PrefixLen: 129})
	assert.ErrorContains(t, err, "ClientIPConfig.IPv6PrefixLen must be in [1,128]")

	key, err := ratelimit.ClientIP(ratelimit.ClientIPConfig{})
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "garbage"
	_, err = key(req)
	assert.ErrorIs(t, err, ratelimit.ErrNoKey)
}

func TestClientIPCustomHeader(t *testing.T) {
	key, err := ratelimit.ClientIP(ratelimit.ClientIPConfig{TrustedProxies: []string{"10.0.0.1"}, Header: "X-Real-IP", IPv6PrefixLen: 128})
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "10.0.0.1:1"
	req.Header.Set("X-Real-IP", "2001:db8::1")
	req.Header.Set("X-Forwarded-For", "198.51.100.1")
	got, err := key(req)
	require.NoError(t, err)
	assert.Equal(t, "2001:db8::1/128", got)
}

func TestAPIKey(t *testing.T) {
	key := ratelimit.APIKey("Authorization")
	get := func(v string) (string, error) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if v != "" {
			req.Header.Set("Authorization", v)
		}
		return key(req)
	}
	a, err := get("Bearer sk_live_secret_a")
	require.NoError(t, err)
	a2, err := get("sk_live_secret_a")
	require.NoError(t, err)
	b, err := get("Bearer sk_live_secret_b")
	require.NoError(t, err)
	assert.Equal(t, a, a2, "the Bearer scheme is not part of the key")
	assert.NotEqual(t, a, b)
	assert.True(t, strings.HasPrefix(a, "apikey:"))
	assert.NotContains(t, a, "secret", "the secret is stored only as a digest")

	_, err = get("")
	assert.ErrorIs(t, err, ratelimit.ErrNoKey)
	_, err = get("Bearer ")
	assert.ErrorIs(t, err, ratelimit.ErrNoKey)
}

func TestHeaderKey(t *testing.T) {
	key := ratelimit.HeaderKey("x-tenant")
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	_, err := key(req)
	assert.ErrorIs(t, err, ratelimit.ErrNoKey)
	req.Header.Set("X-Tenant", strings.Repeat("t", 257))
	_, err = key(req)
	assert.ErrorContains(t, err, "longer than 256 bytes")
	req.Header.Set("X-Tenant", "acme")
	got, err := key(req)
	require.NoError(t, err)
	assert.Equal(t, "acme", got)
}

// FuzzClientIP checks that any peer address and forwarding header yield
// either a clean error or a key that is an address (or /64) taken from the
// input, never a panic.
func FuzzClientIP(f *testing.F) {
	f.Add("10.1.2.3:80", "6.6.6.6, 198.51.100.1, 10.9.9.9")
	f.Add("[2001:db8::1]:443", "[2001:db8:1::9]:80,")
	f.Add("10.0.0.1:1", ",,, ,x")
	f.Add("garbage", "")
	key, err := ratelimit.ClientIP(ratelimit.ClientIPConfig{TrustedProxies: []string{"10.0.0.0/8", "2001:db8::/32"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = remote
		req.Header.Set("X-Forwarded-For", xff)
		got, err := key(req)
		if err != nil {
			if got != "" {
				t.Fatalf("error %v with key %q", err, got)
			}
			return
		}
		if got == "" {
			t.Fatal("empty key without an error")
		}
	})
}
