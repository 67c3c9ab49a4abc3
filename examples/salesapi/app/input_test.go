package app

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keel-go/keel/crypto/field"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAPIKeys(t *testing.T) {
	keys, err := ParseAPIKeys(" aaaaaaaaaaaaaaaa=admin , bbbbbbbbbbbbbbbb=sales ")
	require.NoError(t, err)
	assert.Equal(t, []APIKey{{"aaaaaaaaaaaaaaaa", RoleAdmin}, {"bbbbbbbbbbbbbbbb", RoleSales}}, keys)
	assert.Equal(t, "[REDACTED] (admin)", keys[0].String(), "a key never prints its token")
	for spec, want := range map[string]string{
		"":                      "no keys",
		"short=admin":           "at least 16 characters",
		"aaaaaaaaaaaaaaaa=root": "role must be admin or sales",
		"aaaaaaaaaaaaaaaa":      "token=role",
	} {
		_, err := ParseAPIKeys(spec)
		assert.ErrorContains(t, err, want, spec)
	}
}

func testRoot(b byte) field.Secret[[]byte] {
	return field.NewSecret(bytes.Repeat([]byte{b}, field.KeySize))
}

func TestAuthenticate(t *testing.T) {
	keys := []APIKey{{"aaaaaaaaaaaaaaaa", RoleAdmin}, {"bbbbbbbbbbbbbbbb", RoleSales}}
	a, err := newAuthenticator(keys, testRoot(1))
	require.NoError(t, err)
	p, ok := a.authenticate("Bearer bbbbbbbbbbbbbbbb")
	require.True(t, ok)
	assert.Equal(t, RoleSales, p.Role)
	assert.Regexp(t, `^key_[0-9a-f]{24}$`, p.ID)
	assert.NotContains(t, p.ID, "bbbb", "the principal id is not the token")
	for _, h := range []string{"", "Bearer ", "bearer bbbbbbbbbbbbbbbb", "Basic bbbbbbbbbbbbbbbb", "Bearer bbbbbbbbbbbbbbbbX", "Bearer bbbbbbbbbbbbbbb"} {
		_, ok := a.authenticate(h)
		assert.False(t, ok, h)
	}
	admin, ok := a.authenticate("Bearer aaaaaaaaaaaaaaaa")
	require.True(t, ok)
	assert.Equal(t, RoleAdmin, admin.Role)
	assert.NotEqual(t, admin.ID, p.ID)
}

// Issue #16 item 6: the principal id was the first 48 bits of the token's
// SHA-256, which anyone who reads a log or an audit record could test
// guesses of a weak key against offline. It is now a keyed HMAC: the same
// for every instance sharing the key ring, unrelated to the plain digest,
// and different under another key ring.
func TestPrincipalIDIsAKeyedHMAC(t *testing.T) {
	keys := []APIKey{{"weak-key-0000000", RoleSales}}
	a, err := newAuthenticator(keys, testRoot(1))
	require.NoError(t, err)
	p, ok := a.authenticate("Bearer weak-key-0000000")
	require.True(t, ok)
	sum := sha256.Sum256([]byte("weak-key-0000000"))
	assert.NotContains(t, p.ID, hex.EncodeToString(sum[:6]), "not a prefix of the token's plain SHA-256")

	again, err := newAuthenticator(keys, testRoot(1))
	require.NoError(t, err)
	q, _ := again.authenticate("Bearer weak-key-0000000")
	assert.Equal(t, p.ID, q.ID, "stable across instances and restarts")
	other, err := newAuthenticator(keys, testRoot(2))
	require.NoError(t, err)
	o, _ := other.authenticate("Bearer weak-key-0000000")
	assert.NotEqual(t, p.ID, o.ID, "a guess cannot be checked without the key ring")

	idKey, err := field.DeriveKey(testRoot(1), principalIDPurpose)
	require.NoError(t, err)
	m := hmac.New(sha256.New, idKey.Reveal())
	m.Write([]byte("weak-key-0000000"))
	assert.Equal(t, "key_"+hex.EncodeToString(m.Sum(nil)[:12]), p.ID)
}

// Issue #16 item 6: tokens were compared raw with ConstantTimeCompare, which
// returns at once when the lengths differ (leaking the token's length). The
// authenticator keeps only fixed-size digests.
func TestAuthenticatorComparesDigestsNotTokens(t *testing.T) {
	a, err := newAuthenticator([]APIKey{{"aaaaaaaaaaaaaaaa", RoleAdmin}, {"a-much-longer-token-of-40-characters-xyz", RoleSales}}, testRoot(1))
	require.NoError(t, err)
	for _, d := range a.digests {
		assert.Len(t, d, sha256.Size)
	}
	assert.NotContains(t, fmt.Sprintf("%#v", *a), "aaaaaaaaaaaaaaaa", "no token is kept in clear")
	assert.NotContains(t, fmt.Sprintf("%#v", *a), "a-much-longer-token")
}

func TestDecodeJSON(t *testing.T) {
	cases := []struct {
		body   string
		status int
		code   string
	}{
		{`{"name":"x"}`, 0, ""},
		{`{"name":"x","extra":1}`, 400, CodeMalformed},
		{`{"name":`, 400, CodeMalformed},
		{`{"name":"x"} {"name":"y"}`, 400, CodeMalformed},
		{`{"name":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, 413, CodeTooLarge},
	}
	for _, c := range cases {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(c.body))
		var dst struct {
			Name string `json:"name"`
		}
		ok := decodeJSON(w, r, &dst)
		if c.status == 0 {
			assert.True(t, ok, c.body)
			continue
		}
		assert.False(t, ok)
		assert.Equal(t, c.status, w.Code, c.body[:min(len(c.body), 40)])
		assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
		assert.Contains(t, w.Body.String(), `"code":"`+c.code+`"`)
	}
}

// Issue #16 item 6: encoding/json matches member names case-insensitively
// and lets a later duplicate win, so {"name":"a","Name":"b"} was accepted
// (as "b"). Case variants and duplicates are now a 400 naming them.
func TestDecodeJSONRefusesCaseVariantsAndDuplicates(t *testing.T) {
	type item struct {
		SKU string `json:"sku"`
		Qty int    `json:"qty"`
	}
	type input struct {
		Name  *string         `json:"name"`
		Items []item          `json:"items"`
		Tags  map[string]bool `json:"tags"`
	}
	cases := map[string]string{
		`{"name":"a","Name":"b"}`:            `members "name" and "Name" of the body differ only in case`,
		`{"name":"a","name":"b"}`:            `member "name" appears twice in the body`,
		`{"Name":"b"}`:                       `unknown member "Name" in the body (member names are case-sensitive)`,
		`{"items":[{"sku":"a","SKU":"b"}]}`:  `members "sku" and "SKU" of items[0] differ only in case`,
		`{"items":[{"sku":"a"},{"Qty":2}]}`:  `unknown member "Qty" in items[1]`,
		`{"tags":{"x":true,"x":false}}`:      `member "x" appears twice in tags`,
		`{"name":"a","extra":{"y":1,"Y":2}}`: `unknown member "extra" in the body`,
		`{"tags":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 41): `nested deeper than 32 levels`,
	}
	for body, want := range cases {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		var dst input
		require.False(t, decodeJSON(w, r, &dst), body)
		assert.Equal(t, http.StatusBadRequest, w.Code, body)
		var p Problem
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
		assert.Equal(t, CodeMalformed, p.Code, body)
		assert.Contains(t, p.Detail, want, body)
	}
	w := httptest.NewRecorder()
	var dst input
	require.True(t, decodeJSON(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"name":"a","items":[{"sku":"x","qty":1}],"tags":{"x":true,"X":false}}`)), &dst),
		w.Body.String())
	assert.Equal(t, "a", *dst.Name)
}

func TestCustomerValidationNamesEveryBadField(t *testing.T) {
	s := func(v string) *string { return &v }
	v := customerInput{Name: s(" "), Email: s("not-an-email"), Phone: s("12"), Company: s("Acme")}.validate(true)
	w := httptest.NewRecorder()
	require.True(t, v.answer(w))
	assert.Equal(t, http.StatusUnprocessableEntity, w.Code)
	for _, f := range []string{"name", "email", "phone"} {
		assert.Contains(t, w.Body.String(), `"field":"`+f+`"`)
	}
	assert.NotContains(t, w.Body.String(), `"field":"company"`)
	assert.Len(t, customerInput{}.validate(true), 4, "every missing field is named")
	assert.Empty(t, customerInput{}.validate(false), "PATCH may omit every field")
	assert.Empty(t, customerInput{Name: s("Ann"), Email: s("ann@example.com"), Phone: s("+44 20 7946 0958"), Company: s("Acme")}.validate(true))
}

// The example masks through crypto/mask's policy (issue #16 item 2):
// admins see PII in clear, and are logged as having seen it; sales sees it
// masked.
func TestCustomerViewMasksForSales(t *testing.T) {
	var logs bytes.Buffer
	policy, err := newMaskingPolicy(slog.New(slog.NewJSONHandler(&logs, nil)))
	require.NoError(t, err)
	a := &App{masking: policy}
	c := customer{ID: "cus_1", Name: "Ann", Email: "ann@example.com", Phone: "+44 20 7946 0958"}
	as := func(role Role) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		return r.WithContext(context.WithValue(r.Context(), principalKey{}, principal{ID: "key_" + string(role), Role: role}))
	}
	admin, err := view(a, as(RoleAdmin), c)
	require.NoError(t, err)
	assert.Equal(t, c, admin)
	assert.Contains(t, logs.String(), `"msg":"personal data shown in clear","principal":"key_admin","role":"admin","fields":["app.customer.Email","app.customer.Phone"]`)
	assert.NotContains(t, logs.String(), "ann@example.com", "the log names fields, never values")

	logs.Reset()
	v, err := view(a, as(RoleSales), c)
	require.NoError(t, err)
	assert.Equal(t, "a***@example.com", v.Email)
	assert.Equal(t, "***0958", v.Phone)
	assert.Equal(t, "Ann", v.Name)
	assert.Empty(t, logs.String(), "nothing shown, nothing logged")

	list, err := view(a, as(RoleSales), customerList{Customers: []customer{c, c}})
	require.NoError(t, err)
	assert.Equal(t, "a***@example.com", list.Customers[1].Email)

	w := httptest.NewRecorder()
	writeView(a, w, as(RoleSales), http.StatusOK, c)
	assert.NotContains(t, w.Body.String(), "ann@example.com")
	assert.Contains(t, w.Body.String(), `"email":"a***@example.com"`)
}

// Issue #16 item 6: the blind index was 32 bits wide; it is sized with
// field.SafeIndexBits for the expected number of customers.
func TestEmailIndexUsesTheLibrarysSizing(t *testing.T) {
	idx, err := newEmailIndex(testRoot(1))
	require.NoError(t, err)
	lo, hi, ok := field.SafeIndexBits(expectedCustomers)
	require.True(t, ok)
	assert.Equal(t, hi, idx.Bits())
	assert.GreaterOrEqual(t, idx.Bits(), lo)
	assert.Equal(t, 15, idx.Bits(), "100 000 customers: 9 to 15 bits")
	assert.Equal(t, idx.Sum("ann@example.com"), idx.Sum(" ANN@example.com"), "normalised")
}
