package password

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// An account still on bcrypt, given a password over bcrypt's 72 bytes,
// used to be answered ErrBcryptTooLong after no key derivation at all, while
// an unknown account costs one derivation and ErrMismatch: one request each
// told the two apart. The too-long password now costs the bcrypt
// comparison a wrong password costs, and its error matches ErrMismatch (and
// ErrBcryptTooLong, for the server's logs).
func TestBcryptTooLongPasswordIsAnsweredLikeAWrongPassword(t *testing.T) {
	h := cheap(t, Config{})
	stored, err := bcrypt.GenerateFromPassword([]byte("short password"), bcrypt.MinCost)
	require.NoError(t, err)
	var calls []kdfCall
	h.testHookKDF = func(c kdfCall) { calls = append(calls, c) }
	long := strings.Repeat("a", 80)

	err = h.Verify(long, string(stored))
	require.ErrorIs(t, err, ErrMismatch, "a caller that answers ErrMismatch as a wrong password answers this the same")
	require.ErrorIs(t, err, ErrBcryptTooLong)
	require.Len(t, calls, 1, "the work of a wrong password")
	assert.Equal(t, kdfCall{scheme: "bcrypt", iterations: 1 << bcrypt.MinCost}, calls[0])
	assert.NotContains(t, err.Error(), long)

	calls = nil
	require.ErrorIs(t, h.Verify("wrong password", string(stored)), ErrMismatch)
	require.Len(t, calls, 1)
	assert.Equal(t, kdfCall{scheme: "bcrypt", iterations: 1 << bcrypt.MinCost}, calls[0])

	calls = nil
	require.ErrorIs(t, h.VerifyUnknown(long), ErrMismatch)
	require.Len(t, calls, 1, "an unknown account: one derivation too")

	// Even when its first 72 bytes are the password, a longer one does not
	// match unless BcryptTruncate says so.
	exact := strings.Repeat("b", 72)
	stored, err = bcrypt.GenerateFromPassword([]byte(exact), bcrypt.MinCost)
	require.NoError(t, err)
	require.ErrorIs(t, h.Verify(exact+"tail", string(stored)), ErrMismatch)
	require.NoError(t, cheap(t, Config{BcryptTruncate: true}).Verify(exact+"tail", string(stored)))
}
