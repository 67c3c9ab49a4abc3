package field

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSecretNeverPrintsItsValue(t *testing.T) {
	const value = "hunter2-secret-value"
	s := NewSecret(value)
	type holder struct {
		Exported   Secret[string]
		unexported Secret[string]
	}
	h := holder{Exported: s, unexported: s}

	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%10.3v"} {
		out := fmt.Sprintf(verb, s)
		assert.Equal(t, Redacted, out, verb)
		assert.NotContains(t, fmt.Sprintf(verb, h), value, verb+" on a struct")
		assert.NotContains(t, fmt.Sprintf(verb, &h), value, verb+" on a pointer to a struct")
	}
	assert.Equal(t, Redacted, fmt.Sprint(s))
	assert.Equal(t, Redacted, s.String())

	j, err := json.Marshal(h)
	require.NoError(t, err)
	assert.JSONEq(t, `{"Exported":"[REDACTED]"}`, string(j))

	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	logger.Info("login", "password", s, "holder", h)
	assert.NotContains(t, buf.String(), value)
	assert.Contains(t, buf.String(), `"password":"[REDACTED]"`)

	buf.Reset()
	slog.New(slog.NewTextHandler(&buf, nil)).Info("login", "password", s)
	assert.Contains(t, buf.String(), "password=[REDACTED]")

	assert.Equal(t, value, s.Reveal())
	assert.False(t, s.IsZero())
	var zero Secret[[]byte]
	assert.True(t, zero.IsZero())
	assert.Nil(t, zero.Reveal())
}

func TestKeysAndKeysetsPrintRedacted(t *testing.T) {
	ks, err := GenerateKeyset(0)
	require.NoError(t, err)
	material := fmt.Sprintf("%x", ks.Keys[0].Material.Reveal())
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		out := fmt.Sprintf(verb, ks)
		assert.NotContains(t, out, material, verb)
		assert.NotContains(t, out, fmt.Sprintf("%x", ks.IndexKey.Reveal()), verb)
		assert.NotContains(t, fmt.Sprintf(verb, ks.Keys[0]), material, verb)
	}
	j, err := json.Marshal(ks)
	require.NoError(t, err)
	assert.Contains(t, string(j), `"Material":"[REDACTED]"`, "only MarshalKeyset writes material")
}

// Issue #16 item 4: Reveal returned the Secret's own slice, so a caller that
// cleared what it got (as it should) wiped the key for everyone.
func TestSecretRevealReturnsACopy(t *testing.T) {
	in := []byte{1, 2, 3}
	s := NewSecret(in)
	in[0] = 9 // the caller's slice is not the Secret's
	got := s.Reveal()
	assert.Equal(t, []byte{1, 2, 3}, got)
	clear(got)
	assert.Equal(t, []byte{1, 2, 3}, s.Reveal(), "clearing a revealed copy leaves the Secret intact")
	a, b := s.Reveal(), s.Reveal()
	a[1] = 7
	assert.Equal(t, byte(2), b[1], "every Reveal is its own copy")

	type keyBytes []byte // a named slice type is copied too
	named := NewSecret(keyBytes{4, 5})
	r := named.Reveal()
	r[0] = 0
	assert.Equal(t, keyBytes{4, 5}, named.Reveal())
	assert.Nil(t, NewSecret[[]byte](nil).Reveal())

	// A Ring built from a Key keeps working after its material was revealed
	// and cleared.
	k := fixedKey(1, 0, 1)
	ring := newRing(t, 0, k)
	ct, err := ring.Encrypt([]byte("v"), nil)
	require.NoError(t, err)
	clear(k.Material.Reveal())
	again := newRing(t, 0, k)
	pt, err := again.Decrypt(ct, nil)
	require.NoError(t, err)
	assert.Equal(t, "v", string(pt))
}
