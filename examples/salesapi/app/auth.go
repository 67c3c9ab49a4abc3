package app

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"
)

// Role is what an API key may do.
type Role string

// The roles: admin sees PII in clear and runs admin endpoints; sales sees
// PII masked.
const (
	RoleAdmin Role = "admin"
	RoleSales Role = "sales"
)

// APIKey is one bearer token and its role. The token is a secret: it prints
// as [REDACTED].
type APIKey struct {
	Token string
	Role  Role
}

func (k APIKey) String() string { return "[REDACTED] (" + string(k.Role) + ")" }

// ParseAPIKeys reads "key1=admin,key2=sales".
func ParseAPIKeys(spec string) ([]APIKey, error) {
	var keys []APIKey
	for i, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		token, role, ok := strings.Cut(part, "=")
		if !ok || len(token) < 16 {
			return nil, fmt.Errorf("SALESAPI_API_KEYS entry %d: want token=role with a token of at least 16 characters", i+1)
		}
		switch Role(role) {
		case RoleAdmin, RoleSales:
		default:
			return nil, fmt.Errorf("SALESAPI_API_KEYS entry %d: role must be admin or sales, got %q", i+1, role)
		}
		keys = append(keys, APIKey{Token: token, Role: Role(role)})
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("SALESAPI_API_KEYS: no keys given")
	}
	return keys, nil
}

// principal is the caller a request was authenticated as. ID is a stable,
// non-secret name for the key (a hash prefix), used for audit and limits.
type principal struct {
	ID   string
	Role Role
}

// authenticator checks bearer tokens in constant time per key.
type authenticator struct {
	keys []APIKey
	ids  []string
}

func newAuthenticator(keys []APIKey) *authenticator {
	a := &authenticator{keys: keys}
	for _, k := range keys {
		sum := sha256.Sum256([]byte(k.Token))
		a.ids = append(a.ids, fmt.Sprintf("key_%x", sum[:6]))
	}
	return a
}

// authenticate returns the principal for an Authorization header value.
func (a *authenticator) authenticate(header string) (principal, bool) {
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || token == "" {
		return principal{}, false
	}
	found := -1
	for i, k := range a.keys { // no early exit: timing does not reveal which key matched
		if subtle.ConstantTimeCompare([]byte(token), []byte(k.Token)) == 1 {
			found = i
		}
	}
	if found < 0 {
		return principal{}, false
	}
	return principal{ID: a.ids[found], Role: a.keys[found].Role}, true
}
