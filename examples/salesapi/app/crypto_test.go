package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/crypto/field"
	"github.com/keel-go/keel/crypto/mask"
)

const (
	testAdminKey = "test-admin-key-0123456789"
	testSalesKey = "test-sales-key-0123456789"
)

func newTestApp(t *testing.T, dir string, logs io.Writer) *App {
	t.Helper()
	keys, err := ParseAPIKeys(testAdminKey + "=admin," + testSalesKey + "=sales")
	require.NoError(t, err)
	a, err := New(context.Background(), Config{DataDir: dir, APIKeys: keys, GatewayURL: "http://127.0.0.1:1",
		Logger: slog.New(mask.Default().Handler(slog.NewJSONHandler(logs, nil)))}, nil)
	require.NoError(t, err)
	return a
}

func call(t *testing.T, a *App, key, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+key)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	a.Handler().ServeHTTP(w, r)
	return w
}

// The example's crypto end to end (issue #16 items 2 and 6): strict JSON
// members, PII in clear for admin only (and logged as shown), a blind index
// sized by field.SafeIndexBits, and customers stored with the old 32-bit
// index re-indexed at start so that search still finds them.
func TestCustomersThroughTheAPI(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	a := newTestApp(t, dir, &logs)

	w := call(t, a, testAdminKey, "POST", "/v1/customers", `{"name":"Ann","email":"ann@example.com","phone":"+44 20 7946 0958","company":"Acme","Name":"Eve"}`)
	require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), `members \"name\" and \"Name\" of the body differ only in case`)

	w = call(t, a, testAdminKey, "POST", "/v1/customers", `{"name":"Ann","email":"ann@example.com","phone":"+44 20 7946 0958","company":"Acme"}`)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	var created customer
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &created))
	assert.Equal(t, "ann@example.com", created.Email, "admin sees PII")
	assert.Contains(t, logs.String(), `"msg":"personal data shown in clear"`)
	assert.NotContains(t, logs.String(), "ann@example.com")

	w = call(t, a, testSalesKey, "GET", "/v1/customers/"+created.ID, "")
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), `"email":"a***@example.com"`)
	assert.NotContains(t, w.Body.String(), "ann@example.com")

	row, err := a.store.GetCustomer(context.Background(), created.ID)
	require.NoError(t, err)
	assert.Regexp(t, `^15:[0-9a-f]{4}$`, row.EmailBidx, "15 bits: 2 bytes, 4 hex characters, tagged with the width")

	// A row as the previous version stored it: a 32-bit index.
	legacy, err := field.NewBlindIndex(field.IndexConfig{Key: a.keys.indexKey, Name: "customers.email", Bits: 32, Normalize: field.NormalizeEmail})
	require.NoError(t, err)
	_, err = a.store.DB.Exec(`UPDATE customers SET email_bidx = ? WHERE id = ?`, hex.EncodeToString(legacy.Sum("ann@example.com")), created.ID)
	require.NoError(t, err)
	require.NoError(t, a.Close())

	logs.Reset()
	a = newTestApp(t, dir, &logs)
	defer a.Close()
	assert.Contains(t, logs.String(), `"msg":"email blind index resized","customers":1,"bits":15`)
	row, err = a.store.GetCustomer(context.Background(), created.ID)
	require.NoError(t, err)
	assert.Regexp(t, `^15:[0-9a-f]{4}$`, row.EmailBidx)
	w = call(t, a, testSalesKey, "GET", "/v1/customers?email=ANN@example.com", "")
	require.Equal(t, http.StatusOK, w.Code)
	var found customerList
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &found))
	require.Len(t, found.Customers, 1, w.Body.String())
	assert.Equal(t, created.ID, found.Customers[0].ID)
	assert.Equal(t, "a***@example.com", found.Customers[0].Email)
}
