package field

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/keel-go/keel/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// roundTripColumns stores an encrypted email (binary and text forms) and a
// NULL through real database/sql drivers, and reads them back.
func roundTripColumns(t *testing.T, db *sql.DB, binType, textType string, ph func(int) string) {
	t.Helper()
	ctx := context.Background()
	r := newRing(t, 0, fixedKey(1, 0, 1))
	_, err := db.ExecContext(ctx, fmt.Sprintf("CREATE TABLE customers (id INT PRIMARY KEY, email %s NULL, email_text %s NULL)", binType, textType))
	require.NoError(t, err)

	rowCtx := Context("customers", "email", "1")
	email := NewString(r, rowCtx, "ann@example.com")
	emailText := NewString(r, rowCtx, "ann@example.com")
	emailText.Text = true
	_, err = db.ExecContext(ctx, fmt.Sprintf("INSERT INTO customers (id, email, email_text) VALUES (1, %s, %s)", ph(1), ph(2)), email, emailText)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, fmt.Sprintf("INSERT INTO customers (id, email, email_text) VALUES (2, %s, %s)", ph(1), ph(2)), String{Cipher: r}, String{Cipher: r})
	require.NoError(t, err)

	var stored []byte
	require.NoError(t, db.QueryRowContext(ctx, "SELECT email FROM customers WHERE id = 1").Scan(&stored))
	assert.NotContains(t, string(stored), "ann@example.com", "the column holds ciphertext")

	got := String{Cipher: r, Context: rowCtx}
	gotText := String{Cipher: r, Context: rowCtx}
	require.NoError(t, db.QueryRowContext(ctx, "SELECT email, email_text FROM customers WHERE id = 1").Scan(&got, &gotText))
	assert.True(t, got.Valid)
	assert.Equal(t, "ann@example.com", got.Plain.Reveal())
	assert.Equal(t, "ann@example.com", gotText.Plain.Reveal())
	assert.Equal(t, Redacted, fmt.Sprintf("%v", got))

	null := String{Cipher: r, Context: Context("customers", "email", "2")}
	require.NoError(t, db.QueryRowContext(ctx, "SELECT email FROM customers WHERE id = 2").Scan(&null))
	assert.False(t, null.Valid)

	// A value copied to another row does not decrypt there.
	wrongRow := String{Cipher: r, Context: Context("customers", "email", "2")}
	err = db.QueryRowContext(ctx, "SELECT email FROM customers WHERE id = 1").Scan(&wrongRow)
	assert.ErrorIs(t, err, ErrDecrypt)

	var raw Bytes
	raw.Cipher, raw.Context = r, rowCtx
	require.NoError(t, db.QueryRowContext(ctx, "SELECT email_text FROM customers WHERE id = 1").Scan(&raw))
	assert.Equal(t, []byte("ann@example.com"), raw.Plain.Reveal())
}

func TestStringColumnPostgres(t *testing.T) {
	pg := testenv.PostgresSchema(t)
	roundTripColumns(t, pg.DB,
		"BYTEA", "TEXT",
		func(i int) string { return fmt.Sprintf("$%d", i) })
}

func TestStringColumnMySQL(t *testing.T) {
	my := testenv.MySQLDatabase(t)
	roundTripColumns(t, my.DB,
		"VARBINARY(512)", "VARCHAR(512)",
		func(int) string { return "?" })
}

func TestSQLTypesWithoutCipherFail(t *testing.T) {
	_, err := NewString(nil, nil, "x").Value()
	assert.ErrorIs(t, err, errNoCipher)
	var s String
	assert.ErrorIs(t, s.Scan([]byte{1}), errNoCipher)
	s.Cipher = newRing(t, 0, fixedKey(1, 0, 1))
	assert.Error(t, s.Scan(42))
}
