package app

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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

func TestAuthenticate(t *testing.T) {
	a := newAuthenticator([]APIKey{{"aaaaaaaaaaaaaaaa", RoleAdmin}, {"bbbbbbbbbbbbbbbb", RoleSales}})
	p, ok := a.authenticate("Bearer bbbbbbbbbbbbbbbb")
	require.True(t, ok)
	assert.Equal(t, RoleSales, p.Role)
	assert.Regexp(t, `^key_[0-9a-f]{12}$`, p.ID)
	assert.NotContains(t, p.ID, "bbbb", "the principal id is not the token")
	for _, h := range []string{"", "Bearer ", "bearer bbbbbbbbbbbbbbbb", "Basic bbbbbbbbbbbbbbbb", "Bearer bbbbbbbbbbbbbbbbX"} {
		_, ok := a.authenticate(h)
		assert.False(t, ok, h)
	}
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
		var dst struct{ Name string }
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

func TestCustomerViewMasksForSales(t *testing.T) {
	c := customer{Email: "ann@example.com", Phone: "+44 20 7946 0958"}
	assert.Equal(t, c, c.view(RoleAdmin))
	v := c.view(RoleSales)
	assert.NotContains(t, v.Email, "ann@")
	assert.NotContains(t, v.Phone, "7946")
	assert.True(t, strings.HasSuffix(v.Phone, "0958"))
}
