package httpcache

import (
	"encoding/binary"
	"net/http"
	"strings"
)

// Bounds on the parts of a key. A request whose key would be longer is not
// cached (it is passed to the handler as if there were no cache), so a
// hostile request cannot make the cache hold large keys.
const (
	maxKeyBytes  = 8 << 10
	maxVaryNames = 16
)

// Kinds of stored record, the first part of every key: a variants record
// (what a URL's responses vary on), a response, or a flight (the key a
// single origin call is shared under; nothing is ever stored there).
const (
	kindVariants = "v"
	kindResponse = "r"
	kindFlight   = "f"
)

// keyBuilder appends length-prefixed parts, so that no two different lists
// of parts encode to the same key ("ab"+"c" and "a"+"bc" differ), whatever
// bytes a request puts in them.
type keyBuilder struct {
	b        []byte
	tooLarge bool
}

func (k *keyBuilder) part(s string) {
	if k.tooLarge || len(k.b)+len(s)+binary.MaxVarintLen64 > maxKeyBytes {
		k.tooLarge = true
		return
	}
	k.b = binary.AppendUvarint(k.b, uint64(len(s)))
	k.b = append(k.b, s...)
}

func (k *keyBuilder) String() string { return string(k.b) }

// requestInfo is what the cache reads from a request, once.
type requestInfo struct {
	base       []byte // method, scheme, host, path, query: length-prefixed
	principal  string // from Config.Principal; "" is anonymous
	sharedOnly bool   // credentials and no Principal hook: only shared responses may be used
	tooLarge   bool
}

// describe reads r. The method is GET for HEAD too: a HEAD is answered from
// the GET response, without its body.
func (m *Middleware) describe(r *http.Request) requestInfo {
	host, path := r.Host, r.URL.EscapedPath()
	k := keyBuilder{b: make([]byte, 0, 48+len(host)+len(path)+len(r.URL.RawQuery))}
	k.part(http.MethodGet)
	if r.TLS != nil {
		k.part("https")
	} else {
		k.part("http")
	}
	k.part(lowerASCII(host))
	k.part(path)
	k.part(r.URL.RawQuery)
	info := requestInfo{base: k.b, tooLarge: k.tooLarge}
	if m.cfg.Principal != nil {
		info.principal = m.cfg.Principal(r)
		if len(info.principal) > maxKeyBytes/2 {
			info.tooLarge = true
		}
	} else {
		info.sharedOnly = r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != ""
	}
	return info
}

// variantsKey is where a URL's variants record is stored.
func variantsKey(info *requestInfo) string {
	return kindVariants + string(info.base)
}

// responseKey is where the response for this request is stored, given the
// Vary field names of the URL's responses and whether they are shared. ok is
// false when the key would exceed maxKeyBytes.
func responseKey(info *requestInfo, r *http.Request, vary []string, shared bool) (string, bool) {
	k := keyBuilder{b: make([]byte, 0, len(info.base)+64)}
	k.b = append(k.b, kindResponse...)
	k.b = append(k.b, info.base...)
	k.part(string(rune('0' + len(vary))))
	for _, name := range vary {
		k.part(name)
		k.part(varyValue(r, name))
	}
	if shared {
		k.part("shared")
	} else {
		k.part("principal")
		k.part(info.principal)
	}
	return k.String(), !k.tooLarge
}

// flightKey is the key one origin call for this request is shared under: the
// response key when the URL's variants are known, or the URL and principal
// when not (the waiters then check the result fits them). after is the id of
// the stale entry being replaced (0 for none), so that the calls that
// replace different entries never join.
func flightKey(info *requestInfo, responseKey string, after uint64) string {
	k := keyBuilder{b: make([]byte, 0, len(responseKey)+32)}
	k.b = append(k.b, kindFlight...)
	if responseKey != "" {
		k.part(responseKey)
	} else {
		k.part(string(info.base))
		k.part(info.principal)
	}
	var id [binary.MaxVarintLen64]byte
	k.part(string(id[:binary.PutUvarint(id[:], after)]))
	return k.String()
}

// varyValue is the request's value of a field a response varies on: all
// its lines joined, as RFC 9110 §5.3 combines them.
func varyValue(r *http.Request, name string) string {
	v := r.Header.Values(name)
	switch len(v) {
	case 0:
		return ""
	case 1:
		return v[0]
	}
	return strings.Join(v, ",")
}

// parseVary reads a response's Vary field names: canonical, sorted, without
// duplicates. star is true for "*" (the response varies on something outside
// the request: never stored); ok is false for a field that is malformed or
// lists more than maxVaryNames names.
func parseVary(h http.Header) (names []string, star, ok bool) {
	for _, line := range h.Values("Vary") {
		if len(line) > maxDirectiveBytes {
			return nil, false, false
		}
		for _, name := range strings.Split(line, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			if name == "*" {
				return nil, true, true
			}
			if !isToken(name) {
				return nil, false, false
			}
			name = http.CanonicalHeaderKey(name)
			if !containsString(names, name) {
				if len(names) == maxVaryNames {
					return nil, false, false
				}
				names = insertSorted(names, name)
			}
		}
	}
	return names, false, true
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func insertSorted(list []string, s string) []string {
	i := 0
	for i < len(list) && list[i] < s {
		i++
	}
	list = append(list, "")
	copy(list[i+1:], list[i:])
	list[i] = s
	return list
}

// isToken reports whether s is an RFC 9110 token (a field name).
func isToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// lowerASCII is strings.ToLower without an allocation for a host that is
// already lower case, as nearly all are.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}
