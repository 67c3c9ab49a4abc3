package e2e

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// problemFields decodes a 422's fields[] into field → message.
func problemFields(t *testing.T, r response) map[string]string {
	t.Helper()
	var p struct {
		Code   string `json:"code"`
		Fields []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"fields"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &p), "%s", r.Body)
	assert.Equal(t, "invalid_fields", p.Code)
	out := map[string]string{}
	for _, f := range p.Fields {
		out[f.Field] = f.Message
	}
	return out
}

// TestBadInputIsRefusedAndNamed sends what a careless or hostile client
// sends, through the real binary: nothing is stored with a replaced
// character, nothing is accepted with trailing data, and each 422 names
// the field.
func TestBadInputIsRefusedAndNamed(t *testing.T) {
	t.Parallel()
	in := start(t, t.TempDir(), sqliteBackend)
	cust := in.createCustomer("input@example.com", "+1 555 0100 11")

	t.Run("invalid UTF-8 in a string is 422 naming the field", func(t *testing.T) {
		for _, c := range []struct {
			name, method, path, key string
			body                    []byte
			field                   string
		}{
			{"raw bytes", "POST", "/v1/customers", salesKey, []byte("{\"name\":\"Ann \xff\xfe\",\"company\":\"Acme\",\"email\":\"a@example.com\",\"phone\":\"+1 555 0100 12\"}"), "name"},
			{"a lone surrogate escape", "POST", "/v1/customers", salesKey, []byte(`{"name":"Ann","company":"Acme \udc00","email":"a@example.com","phone":"+1 555 0100 12"}`), "company"},
			{"in a PATCH", "PATCH", "/v1/customers/" + cust, salesKey, []byte("{\"company\":\"\xc3\x28\"}"), "company"},
			{"in a licence", "POST", "/v1/customers/" + cust + "/licenses", salesKey, []byte("{\"product\":\"pro\xe2\x82\",\"seats\":1,\"expires_at\":\"2027-12-31T00:00:00Z\"}"), "product"},
			{"in an order item", "POST", "/v1/orders", salesKey, []byte("{\"customer_id\":\"" + cust + "\",\"currency\":\"EUR\",\"items\":[{\"sku\":\"w\xff\",\"qty\":1,\"unit_price_cents\":100}]}"), "items[0].sku"},
		} {
			r := in.call(c.method, c.path, c.key, c.body, "Idempotency-Key", newKey(t))
			require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s: %s", c.name, r.Body)
			assert.Contains(t, problemFields(t, r)[c.field], "UTF-8", c.name)
		}
		// A real U+FFFD, sent as the character or as an escape, is text like any other.
		r := in.call("POST", "/v1/customers", salesKey, []byte(`{"name":"Ann \ufffd �","company":"Acme","email":"fffd@example.com","phone":"+1 555 0100 13"}`))
		assert.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	})

	t.Run("trailing data after the JSON body is 400 on every JSON endpoint", func(t *testing.T) {
		for _, c := range []struct{ method, path, key, body string }{
			{"POST", "/v1/customers", salesKey, `{"name":"A","company":"C","email":"t@example.com","phone":"+1 555 0100 14"}{}`},
			{"PATCH", "/v1/customers/" + cust, salesKey, `{"company":"B"} x`},
			{"POST", "/v1/customers/" + cust + "/licenses", salesKey, `{"product":"p","seats":1,"expires_at":"2027-12-31T00:00:00Z"}[]`},
			{"POST", "/v1/orders", salesKey, `{"customer_id":"` + cust + `","currency":"EUR","items":[{"sku":"w","qty":1,"unit_price_cents":100}]}{}`},
			{"POST", "/v1/admin/chaos", adminKey, `{}{}`},
			{"POST", "/v1/admin/chaos", adminKey, `{"failure_rate":0} 1`},
		} {
			r := in.call(c.method, c.path, c.key, c.body, "Idempotency-Key", newKey(t))
			assert.Equal(t, http.StatusBadRequest, r.Status, "%s %s %s: %s", c.method, c.path, c.body, r.Body)
			assert.Contains(t, string(r.Body), "trailing data", "%s %s", c.method, c.path)
		}
		// The chaos endpoint also refuses unknown members, and still takes a good body.
		assert.Equal(t, http.StatusBadRequest, in.call("POST", "/v1/admin/chaos", adminKey, `{"failure":1}`).Status)
		assert.Equal(t, http.StatusNoContent, in.call("POST", "/v1/admin/chaos", adminKey, `{"failure_rate":0}`).Status)
	})

	t.Run("expires_at that is not RFC 3339 is 422 naming it", func(t *testing.T) {
		for _, v := range []string{`"2027-12-31"`, `"31/12/2027"`, `1830297600`, `"2027-12-31 00:00:00"`} {
			r := in.call("POST", "/v1/customers/"+cust+"/licenses", salesKey, `{"product":"p","seats":1,"expires_at":`+v+`}`)
			require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s: %s", v, r.Body)
			assert.Contains(t, problemFields(t, r)["expires_at"], "RFC 3339", v)
		}
		r := in.call("POST", "/v1/customers/"+cust+"/licenses", salesKey, `{"product":"p","seats":1,"expires_at":"2027-12-31T00:00:00+01:00"}`)
		assert.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	})

	t.Run("an unknown audit outcome filter is 422", func(t *testing.T) {
		r := in.call("GET", "/v1/audit?outcome=bogus", adminKey, nil)
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Body)
		assert.Contains(t, problemFields(t, r), "outcome")
		for _, o := range []string{"success", "failure", "denied", ""} {
			assert.Equal(t, http.StatusOK, in.call("GET", "/v1/audit?outcome="+o, adminKey, nil).Status, o)
		}
	})

	t.Run("report dates that are not RFC 3339 are 422 naming them", func(t *testing.T) {
		r := in.call("GET", "/v1/reports/sales?from=2026-01-01&to=2026-02-01", salesKey, nil)
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Body)
		f := problemFields(t, r)
		assert.Contains(t, f, "from")
		assert.Contains(t, f, "to")
	})
}
