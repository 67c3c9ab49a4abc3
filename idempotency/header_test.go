package idempotency_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/idempotency"
)

func TestParseKey(t *testing.T) {
	long := strings.Repeat("a", idempotency.MaxKeyLength)
	tests := []struct {
		name    string
		values  []string
		want    string
		present bool
		wantErr string
	}{
		{name: "absent", values: nil},
		{name: "sf-string", values: []string{`"8e03978e-40d5-43e8-bc93-6894a57f9324"`}, want: "8e03978e-40d5-43e8-bc93-6894a57f9324", present: true},
		{name: "bare uuid (Stripe style)", values: []string{"8e03978e-40d5-43e8-bc93-6894a57f9324"}, want: "8e03978e-40d5-43e8-bc93-6894a57f9324", present: true},
		{name: "surrounding spaces", values: []string{" \t\"k\" "}, want: "k", present: true},
		{name: "escapes", values: []string{`"a\"b\\c"`}, want: `a"b\c`, present: true},
		{name: "spaces inside a string", values: []string{`"a b"`}, want: "a b", present: true},
		{name: "255 characters", values: []string{long}, want: long, present: true},
		{name: "256 characters", values: []string{long + "a"}, present: true, wantErr: "more than 255"},
		{name: "256 characters quoted", values: []string{`"` + long + `a"`}, present: true, wantErr: "more than 255"},
		{name: "empty", values: []string{""}, present: true, wantErr: "is empty"},
		{name: "empty string", values: []string{`""`}, present: true, wantErr: "empty string"},
		{name: "twice", values: []string{"a", "b"}, present: true, wantErr: "appears 2 times"},
		{name: "list", values: []string{"a, b"}, present: true, wantErr: "not a list"},
		{name: "parameters", values: []string{`"a";p=1`}, present: true, wantErr: "after the closing quote"},
		{name: "bare parameters", values: []string{`a;p=1`}, present: true, wantErr: "parameters"},
		{name: "unterminated", values: []string{`"abc`}, present: true, wantErr: "no closing quote"},
		{name: "escaped final quote", values: []string{`"abc\"`}, present: true, wantErr: "no closing quote"},
		{name: "bad escape", values: []string{`"a\nb"`}, present: true, wantErr: "invalid escape"},
		{name: "control byte in string", values: []string{"\"a\x01b\""}, present: true, wantErr: "outside printable ASCII"},
		{name: "non-ASCII in string", values: []string{"\"caf\xc3\xa9\""}, present: true, wantErr: "outside printable ASCII"},
		{name: "space in bare key", values: []string{"a b"}, present: true, wantErr: "not visible ASCII"},
		{name: "quote inside bare key", values: []string{`a"b`}, present: true, wantErr: "quote or backslash"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, present, err := idempotency.ParseKey(tc.values)
			assert.Equal(t, tc.present, present, "present")
			if tc.wantErr != "" {
				require.ErrorIs(t, err, idempotency.ErrInvalidKey)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// FuzzParseKey: any input either parses to a 1–255 character printable-ASCII
// key or fails with ErrInvalidKey; never a panic. A parsed key re-encoded as
// an sf-string parses back to itself.
func FuzzParseKey(f *testing.F) {
	for _, seed := range []string{`"abc"`, "abc", `"a\"b\\c"`, `""`, `"a";p`, "a,b", " \"x\" ", `"\`, "\xff", strings.Repeat("z", 300)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		key, present, err := idempotency.ParseKey([]string{v})
		if !present {
			t.Fatal("a single field value must be present")
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "idempotency: ") {
				t.Fatalf("error does not name the package: %v", err)
			}
			require.ErrorIs(t, err, idempotency.ErrInvalidKey)
			return
		}
		if len(key) < 1 || len(key) > idempotency.MaxKeyLength {
			t.Fatalf("key of %d characters accepted", len(key))
		}
		for i := 0; i < len(key); i++ {
			if key[i] < 0x20 || key[i] > 0x7e {
				t.Fatalf("byte 0x%02x accepted", key[i])
			}
		}
		quoted := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(key) + `"`
		again, _, err := idempotency.ParseKey([]string{quoted})
		require.NoError(t, err)
		require.Equal(t, key, again)
	})
}

func TestDerivedKey(t *testing.T) {
	a := idempotency.DerivedKey("tenant POST /orders", "k1", "payment")
	assert.Len(t, a, 43)
	assert.Equal(t, a, idempotency.DerivedKey("tenant POST /orders", "k1", "payment"), "deterministic across retries")
	others := []string{
		idempotency.DerivedKey("tenant POST /orders", "k1", "shipping"),
		idempotency.DerivedKey("tenant POST /orders", "k2", "payment"),
		idempotency.DerivedKey("other POST /orders", "k1", "payment"),
		idempotency.DerivedKey("tenant POST /orders", "k1p", "ayment"),
	}
	for _, o := range others {
		assert.NotEqual(t, a, o)
	}
	key, _, err := idempotency.ParseKey([]string{a})
	require.NoError(t, err, "a derived key is a valid header value")
	assert.Equal(t, a, key)
}
