package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/crypto/field"
)

func createCustomer(t *testing.T, a *App, body string) customer {
	t.Helper()
	w := call(t, a, testAdminKey, "POST", "/v1/customers", body)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	var c customer
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &c))
	return c
}

// A row the re-index cannot open (a damaged value, or one under a retired
// key) used to stop the service from starting: New returned the error. It
// is now left out, counted and logged without personal data, and the other
// rows are re-indexed.
func TestReindexSkipsRowsItCannotOpen(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	a := newTestApp(t, dir, &logs)
	ann := createCustomer(t, a, `{"name":"Ann","email":"ann@example.com","phone":"+44 20 7946 0958","company":"Acme"}`)
	bob := createCustomer(t, a, `{"name":"Bob","email":"bob@example.org","phone":"+44 20 7946 0959","company":"Acme"}`)
	legacy, err := field.NewBlindIndex(field.IndexConfig{Key: a.keys.indexKey, Name: "customers.email", Bits: 32, Normalize: field.NormalizeEmail})
	require.NoError(t, err)
	// Both rows as the version with a 32-bit index stored them; Bob's email
	// cannot be decrypted any more.
	_, err = a.store.DB.Exec(`UPDATE customers SET email_bidx = ? WHERE id = ?`, hex.EncodeToString(legacy.Sum("ann@example.com")), ann.ID)
	require.NoError(t, err)
	_, err = a.store.DB.Exec(`UPDATE customers SET email_bidx = ?, email_enc = ? WHERE id = ?`, hex.EncodeToString(legacy.Sum("bob@example.org")), []byte{1, 2, 3}, bob.ID)
	require.NoError(t, err)
	require.NoError(t, a.Close())

	logs.Reset()
	a = newTestApp(t, dir, &logs) // starts
	assert.Contains(t, logs.String(), `"msg":"customer left out of the email re-index: its email cannot be decrypted","customer":"`+bob.ID+`"`)
	assert.Contains(t, logs.String(), `"msg":"email blind index resized","customers":1,"bits":15`)
	assert.Contains(t, logs.String(), `"msg":"email re-index left customers out","customers":1`)
	assert.NotContains(t, logs.String(), "bob@example.org")
	assert.NotContains(t, logs.String(), "ann@example.com")

	w := call(t, a, testSalesKey, "GET", "/v1/customers?email=ann@example.com", "")
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), ann.ID, "the rows it could open are re-indexed")
	row, err := a.store.GetCustomer(context.Background(), bob.ID)
	require.NoError(t, err)
	assert.Equal(t, hex.EncodeToString(legacy.Sum("bob@example.org")), row.EmailBidx, "the row it could not open is left as it was")

	// Each start tries again, and says so.
	require.NoError(t, a.Close())
	logs.Reset()
	a = newTestApp(t, dir, &logs)
	assert.Equal(t, 1, strings.Count(logs.String(), "customer left out of the email re-index"))
	require.NoError(t, a.Close())
}

// The index value records its width ("15:" before the hex), so that a
// resize between two widths of the same hex length (9 to 16 bits are all
// four hex characters) is re-indexed too; the width alone could not tell.
func TestReindexFindsAResizeOfTheSameHexLength(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	a := newTestApp(t, dir, &logs)
	ann := createCustomer(t, a, `{"name":"Ann","email":"ann@example.com","phone":"+44 20 7946 0958","company":"Acme"}`)
	row, err := a.store.GetCustomer(context.Background(), ann.ID)
	require.NoError(t, err)
	assert.Regexp(t, `^15:[0-9a-f]{4}$`, row.EmailBidx)

	// A 12-bit index, as a smaller deployment might have stored: four hex
	// characters like the 15-bit one.
	small, err := field.NewBlindIndex(field.IndexConfig{Key: a.keys.indexKey, Name: "customers.email", Bits: 12, Normalize: field.NormalizeEmail})
	require.NoError(t, err)
	for _, old := range []string{"12:" + hex.EncodeToString(small.Sum("ann@example.com")), hex.EncodeToString(small.Sum("ann@example.com"))} {
		_, err = a.store.DB.Exec(`UPDATE customers SET email_bidx = ? WHERE id = ?`, old, ann.ID)
		require.NoError(t, err)
		require.NoError(t, a.Close())
		logs.Reset()
		a = newTestApp(t, dir, &logs)
		assert.Contains(t, logs.String(), `"msg":"email blind index resized","customers":1,"bits":15`, old)
		w := call(t, a, testSalesKey, "GET", "/v1/customers?email=ann@example.com", "")
		assert.Contains(t, w.Body.String(), ann.ID, old)
	}
	require.NoError(t, a.Close())
}
