package e2e

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/audit"
)

// TestAPIEdges covers answers a client relies on beyond the seven promises.
func TestAPIEdges(t *testing.T) {
	t.Parallel()
	in := start(t, t.TempDir(), sqliteBackend)
	cust := in.createCustomer("edges@example.com", "+1 555 0100 08")

	t.Run("concurrent PATCHes of different fields both land", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := range 10 {
			body := map[string]string{"name": "Name " + string(rune('A'+i))}
			if i%2 == 1 {
				body = map[string]string{"company": "Company " + string(rune('A'+i))}
			}
			wg.Go(func() {
				r, err := tryPatch(in, "/v1/customers/"+cust, body)
				assert.NoError(t, err)
				assert.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			})
		}
		wg.Wait()
		got := in.call("GET", "/v1/customers/"+cust, in.Admin, nil).JSON(t)
		assert.Regexp(t, `^Name [A-J]$`, got["name"])
		assert.Regexp(t, `^Company [A-J]$`, got["company"], "the company PATCHes were not lost to the name PATCHes")
	})

	t.Run("a customer with orders cannot be deleted", func(t *testing.T) {
		require.Equal(t, http.StatusCreated, in.call("POST", "/v1/orders", salesKey, orderBody(cust, 1), "Idempotency-Key", newKey(t)).Status)
		r := in.call("DELETE", "/v1/customers/"+cust, in.Admin, nil)
		assert.Equal(t, http.StatusConflict, r.Status, "%s", r.Body)
		assert.Contains(t, string(r.Body), "customer_has_orders")
		other := in.createCustomer("deleteme@example.com", "+1 555 0100 09")
		assert.Equal(t, http.StatusNoContent, in.call("DELETE", "/v1/customers/"+other, in.Admin, nil).Status)
		assert.Equal(t, http.StatusNotFound, in.call("GET", "/v1/customers/"+other, in.Admin, nil).Status)
	})

	t.Run("errors are problem+json with a stable code", func(t *testing.T) {
		for _, c := range []struct {
			method, path, key string
			body              any
			status            int
			code              string
		}{
			{"GET", "/v1/nope", in.Admin, nil, http.StatusNotFound, "not_found"},
			{"GET", "/v1/customers/cus_missing", in.Admin, nil, http.StatusNotFound, "not_found"},
			{"POST", "/v1/customers", in.Admin, `{"name":"x","bogus":1}`, http.StatusBadRequest, "malformed_request"},
			{"POST", "/v1/customers", in.Admin, map[string]string{"name": "x"}, http.StatusUnprocessableEntity, "invalid_fields"},
			{"POST", "/v1/orders", salesKey, orderBody(cust, 1), http.StatusBadRequest, "idempotency_key_missing"},
			{"GET", "/v1/audit", salesKey, nil, http.StatusForbidden, "forbidden"},
			{"GET", "/v1/customers/" + cust, "wrong-key-0123456789", nil, http.StatusUnauthorized, "unauthorized"},
		} {
			r := in.call(c.method, c.path, c.key, c.body)
			assert.Equal(t, c.status, r.Status, "%s %s: %s", c.method, c.path, r.Body)
			assert.Contains(t, r.Header.Get("Content-Type"), "application/problem+json", "%s %s", c.method, c.path)
			assert.Contains(t, string(r.Body), `"code":"`+c.code+`"`, "%s %s", c.method, c.path)
		}
	})

	t.Run("denials are audited with the path asked for", func(t *testing.T) {
		q := in.call("GET", "/v1/audit?outcome=denied", in.Admin, nil)
		require.Equal(t, http.StatusOK, q.Status)
		var recs []audit.Record // each element a stored line, checked against its hash
		require.NoError(t, json.Unmarshal(q.Body, &recs))
		var routes []string
		for _, r := range recs {
			routes = append(routes, r.Event.Resource.ID)
		}
		assert.Contains(t, routes, "GET /v1/customers/"+cust, "the 401 names the path, not the catch-all")
		assert.Contains(t, routes, "GET /v1/audit", "the 403 names the route")
	})
}

// tryPatch is a PATCH with the admin key that reports transport errors
// instead of failing the test (it runs off the test goroutine).
func tryPatch(in *instance, path string, body any) (response, error) {
	buf, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPatch, in.URL+path, bytesReader(buf))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+in.Admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	var b []byte
	b, err = readAll(resp)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}
