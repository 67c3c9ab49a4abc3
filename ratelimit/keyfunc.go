package ratelimit

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// KeyFunc extracts the rate-limit key from a request: whose bucket the
// request takes from. An error (wrapping ErrNoKey where the key is absent)
// makes the middleware answer 400.
type KeyFunc func(r *http.Request) (string, error)

// ErrNoKey is returned (wrapped) by a KeyFunc when the request carries no
// usable key.
var ErrNoKey = errors.New("ratelimit: no rate-limit key in request")

// maxKeyLen bounds a key taken verbatim from a header, so that a client
// cannot make the limiter store arbitrarily large keys.
const maxKeyLen = 256

// HeaderKey keys requests by the value of the named header (for example a
// tenant or user id set by an authenticating proxy). A request without the
// header, or with a value longer than 256 bytes, has no key.
func HeaderKey(name string) KeyFunc {
	canonical := http.CanonicalHeaderKey(name)
	return func(r *http.Request) (string, error) {
		v := r.Header.Get(canonical)
		if v == "" {
			return "", fmt.Errorf("%w: header %s is absent", ErrNoKey, canonical)
		}
		if len(v) > maxKeyLen {
			return "", fmt.Errorf("%w: header %s is longer than %d bytes", ErrNoKey, canonical, maxKeyLen)
		}
		return v, nil
	}
}

// APIKey keys requests by the API key in the named header; for
// "Authorization" the "Bearer " scheme prefix is removed. The key is stored
// and compared only as a SHA-256 digest, so the secret itself never sits in
// the limiter's memory or in a redislimit key. A request without it has no
// key.
func APIKey(header string) KeyFunc {
	canonical := http.CanonicalHeaderKey(header)
	return func(r *http.Request) (string, error) {
		v := r.Header.Get(canonical)
		if canonical == "Authorization" {
			if scheme, token, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "Bearer") {
				v = strings.TrimSpace(token)
			}
		}
		if v == "" {
			return "", fmt.Errorf("%w: no API key in header %s", ErrNoKey, canonical)
		}
		sum := sha256.Sum256([]byte(v))
		return "apikey:" + base64.RawURLEncoding.EncodeToString(sum[:16]), nil
	}
}

// ClientIPConfig configures the client-IP key function.
type ClientIPConfig struct {
	// TrustedProxies lists the addresses or CIDR prefixes of the proxies in
	// front of the service (load balancers, ingress). Only when the direct
	// peer is one of them is the forwarding header believed, and then only
	// up to the first hop that is not. Default: none, so the key is the
	// direct peer's address and a client cannot choose its own key.
	TrustedProxies []string
	// Header is the forwarding header the trusted proxies append to.
	// Default "X-Forwarded-For".
	Header string
	// IPv6PrefixLen groups IPv6 clients by prefix, because one subscriber
	// commonly holds a whole /64. Default 64; 128 keys each address apart.
	IPv6PrefixLen int
}

// ClientIP returns a KeyFunc that keys requests by the client's IP address,
// or an error naming the first invalid ClientIPConfig field.
//
// The client is found by walking the forwarding header from the right
// (nearest hop first), starting only if the direct peer is a trusted proxy,
// and stopping at the first address that is not trusted: entries to its
// left were written by the client and could be anything. A malformed entry
// stops the walk at the trusted hop that passed it on.
func ClientIP(cfg ClientIPConfig) (KeyFunc, error) {
	trusted := make([]netip.Prefix, 0, len(cfg.TrustedProxies))
	for i, s := range cfg.TrustedProxies {
		p, err := parsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("ratelimit: ClientIPConfig.TrustedProxies[%d]: %q is neither an IP address nor a CIDR prefix", i, s)
		}
		trusted = append(trusted, p)
	}
	header := cfg.Header
	if header == "" {
		header = "X-Forwarded-For"
	}
	bits := cfg.IPv6PrefixLen
	if bits == 0 {
		bits = 64
	}
	if bits < 1 || bits > 128 {
		return nil, fmt.Errorf("ratelimit: ClientIPConfig.IPv6PrefixLen must be in [1,128] (0 means 64), got %d", bits)
	}
	c := clientIP{trusted: trusted, header: http.CanonicalHeaderKey(header), v6bits: bits}
	return c.key, nil
}

type clientIP struct {
	trusted []netip.Prefix
	header  string
	v6bits  int
}

func (c clientIP) key(r *http.Request) (string, error) {
	addr, err := c.resolve(r.RemoteAddr, r.Header.Values(c.header))
	if err != nil {
		return "", err
	}
	if addr.Is6() {
		p, _ := addr.Prefix(c.v6bits)
		return p.String(), nil
	}
	return addr.String(), nil
}

// resolve finds the client address from the direct peer and the forwarding
// header's field lines.
func (c clientIP) resolve(remoteAddr string, forwarded []string) (netip.Addr, error) {
	client, err := parseHop(remoteAddr)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: remote address %q: %v", ErrNoKey, remoteAddr, err)
	}
	if !c.isTrusted(client) {
		return client, nil
	}
	// Field lines in order, entries within a line comma-separated; the last
	// entry of the last line is the nearest hop.
	for i := len(forwarded) - 1; i >= 0; i-- {
		line := forwarded[i]
		for line != "" {
			var hop string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				hop, line = line[j+1:], line[:j]
			} else {
				hop, line = line, ""
			}
			hop = strings.TrimSpace(hop)
			if hop == "" {
				continue
			}
			addr, err := parseHop(hop)
			if err != nil {
				return client, nil
			}
			client = addr
			if !c.isTrusted(addr) {
				return client, nil
			}
		}
	}
	return client, nil
}

func (c clientIP) isTrusted(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHop parses an address as it appears in RemoteAddr or a forwarding
// header: "ip", "ip:port", "[ipv6]" or "[ipv6]:port". IPv4-mapped IPv6
// addresses become IPv4, and zones are dropped, so one client has one key.
func parseHop(s string) (netip.Addr, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return normalise(ap.Addr()), nil
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, err
	}
	return normalise(a), nil
}

func normalise(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// parsePrefix accepts "10.0.0.0/8" or a single address "10.0.0.1".
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96), nil
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = normalise(a)
	return netip.PrefixFrom(a, a.BitLen()), nil
}
