package rediscache

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestInvalidationMessages(t *testing.T) {
	id := "0123456789abcdef"
	cases := []struct {
		payload string
		key     string
		ok      bool
	}{
		{encodeInvalidation(id, "customer:42"), "customer:42", true},
		{encodeInvalidation(id, ""), "", true},
		{"no-colon", "", false},
		{"short:key", "", false},
		{":key", "", false},
	}
	for _, tc := range cases {
		gotID, key, ok := decodeInvalidation(tc.payload)
		assert.Equal(t, tc.ok, ok, tc.payload)
		if tc.ok {
			assert.Equal(t, id, gotID)
			assert.Equal(t, tc.key, key)
		}
	}
}

func FuzzDecodeInvalidation(f *testing.F) {
	f.Add("0123456789abcdef:customer:1")
	f.Add(":")
	f.Add("")
	f.Fuzz(func(t *testing.T, payload string) {
		id, key, ok := decodeInvalidation(payload)
		if !ok {
			return
		}
		if len(id) != instanceIDLen {
			t.Fatalf("accepted id %q of length %d", id, len(id))
		}
		if encodeInvalidation(id, key) != payload {
			t.Fatalf("round trip of %q gave %q", payload, encodeInvalidation(id, key))
		}
	})
}
