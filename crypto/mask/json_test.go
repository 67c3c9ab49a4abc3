package mask

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A JSON member repeated with an empty or null last copy: decoding keeps the
// last copy, which hides nothing, so the original bytes (first copy
// included) used to be logged. What is logged is now always the masked
// copy, re-marshalled.
func TestJSONInBytesWithRepeatedSensitiveMembersNeverLeaks(t *testing.T) {
	const secret = "hunter2-SECRET"
	for _, body := range []string{
		`{"password":"` + secret + `","password":""}`,
		`{"password":"` + secret + `","password":null}`,
		`{"user":{"token":"` + secret + `","token":null}}`,
		`[{"api_key":"` + secret + `","api_key":""}]`,
		`{"note":"x","note":"` + secret + `"}`, // not sensitive: the decoded (last) copy is shown
	} {
		t.Run(body, func(t *testing.T) {
			sensitive := !strings.HasPrefix(body, `{"note"`)
			for name, v := range map[string]any{"[]byte": []byte(body), "json.RawMessage": json.RawMessage(body)} {
				var j, txt bytes.Buffer
				slog.New(Default().Handler(slog.NewJSONHandler(&j, nil))).Info("m", "body", v)
				slog.New(Default().Handler(slog.NewTextHandler(&txt, nil))).Info("m", "body", v)
				got := string(reflect.ValueOf(Default().Value("body", v)).Bytes())
				if sensitive {
					assert.NotContains(t, j.String(), secret, name)
					assert.NotContains(t, txt.String(), secret, name)
					assert.NotContains(t, got, secret, name)
				}
				assert.True(t, json.Valid([]byte(got)), "%s: Value returns JSON: %s", name, got)
				assert.NotContains(t, j.String(), "!ERROR", name)
			}
		})
	}
	// The masked copy is what is shown: one member per name, re-marshalled.
	got := Default().Value("body", []byte(`{"password":"`+secret+`","password":"","n":1}`)).([]byte)
	assert.JSONEq(t, `{"password":"[REDACTED]","n":1}`, string(got))
	// JSON with nothing to mask is re-marshalled too (compact, keys sorted).
	got = Default().Value("body", []byte(`{ "b": 2, "a": [1, 2.50] }`)).([]byte)
	assert.Equal(t, `{"a":[1,2.50],"b":2}`, string(got), "numbers keep their text")
}

// A number under a sensitive key in JSON decoded with UseNumber is a
// json.Number, a string kind: it used to become the invalid json.Number
// "[REDACTED]", so the masked map could not be marshalled and the handler
// logged "!ERROR:...". It is now the string "[REDACTED]".
func TestJSONNumberUnderASensitiveKeyIsRedactedAsAString(t *testing.T) {
	dec := json.NewDecoder(strings.NewReader(`{"pin":1234,"name":"x","card_number":4111111111111111,"n":7}`))
	dec.UseNumber()
	var in map[string]any
	require.NoError(t, dec.Decode(&in))

	out := Map(in)
	assert.Equal(t, Redacted, out["pin"])
	assert.IsType(t, "", out["pin"], "a plain string, not a json.Number")
	assert.Equal(t, Redacted, out["card_number"])
	assert.Equal(t, json.Number("7"), out["n"], "numbers under other keys stay json.Number")
	b, err := json.Marshal(out)
	require.NoError(t, err)
	assert.JSONEq(t, `{"pin":"[REDACTED]","name":"x","card_number":"[REDACTED]","n":7}`, string(b))

	var buf bytes.Buffer
	slog.New(Default().Handler(slog.NewJSONHandler(&buf, nil))).Info("m", "req", in, "pin", json.Number("1234"))
	assert.NotContains(t, buf.String(), "!ERROR")
	assert.NotContains(t, buf.String(), "1234")
	rec := decode(t, &buf)
	assert.Equal(t, Redacted, rec["req"].(map[string]any)["pin"])
	assert.Equal(t, Redacted, rec["pin"])

	// A typed json.Number field: redact and a sensitive field name zero it;
	// another rule is an error, as on any non-string.
	type withNumber struct {
		PIN    json.Number `json:"pin"`
		Amount json.Number `mask:"redact"`
		Count  json.Number
	}
	v, ok := Default().Value("v", withNumber{PIN: "1234", Amount: "99", Count: "3"}).(withNumber)
	require.True(t, ok)
	assert.Equal(t, withNumber{Count: "3"}, v)
	_, err = json.Marshal(v)
	require.NoError(t, err)
	type phoneNumber struct {
		Phone json.Number `mask:"phone"`
	}
	_, err = Struct(phoneNumber{Phone: "4915112345678"})
	assert.ErrorContains(t, err, `phoneNumber.Phone: rule "phone" applies to strings, not json.Number`)
}
