package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/keel-go/keel/crypto/field"
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
// non-secret name for the key, used for audit, limits and idempotency
// scopes: a keyed HMAC of the token (see principalIDPurpose), so that a
// logged or audited ID cannot be used to test guesses of the token offline.
type principal struct {
	ID   string
	Role Role
}

// principalIDPurpose derives, from the key ring's root index key, the key
// that names principals. Every instance sharing the key ring names a key
// alike.
const principalIDPurpose = "salesapi.principal-id/v1"

// authenticator checks bearer tokens. Tokens are compared by their SHA-256
// digests, all of one length, so the comparison's time reveals neither a
// token's content nor its length, and every key is compared (no early
// exit), so it does not reveal which key matched either.
type authenticator struct {
	digests [][sha256.Size]byte
	roles   []Role
	ids     []string
}

func newAuthenticator(keys []APIKey, root field.Secret[[]byte]) (*authenticator, error) {
	idKey, err := field.DeriveKey(root, principalIDPurpose)
	if err != nil {
		return nil, fmt.Errorf("salesapi: principal id key: %w", err)
	}
	k := idKey.Reveal()
	defer clear(k)
	a := &authenticator{}
	for _, key := range keys {
		a.digests = append(a.digests, sha256.Sum256([]byte(key.Token)))
		a.roles = append(a.roles, key.Role)
		m := hmac.New(sha256.New, k)
		m.Write([]byte(key.Token))
		a.ids = append(a.ids, "key_"+hex.EncodeToString(m.Sum(nil)[:12]))
	}
	return a, nil
}

// authenticate returns the principal for an Authorization header value.
func (a *authenticator) authenticate(header string) (principal, bool) {
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || token == "" {
		return principal{}, false
	}
	presented := sha256.Sum256([]byte(token))
	found := -1
	for i := range a.digests { // no early exit: timing does not reveal which key matched
		if subtle.ConstantTimeCompare(presented[:], a.digests[i][:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return principal{}, false
	}
	return principal{ID: a.ids[found], Role: a.roles[found]}, true
}
