package mask

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMapMasksByKeyAtEveryDepth(t *testing.T) {
	var in map[string]any
	require.NoError(t, json.Unmarshal([]byte(`{
		"user": {"Email": "ann@example.com", "Password": "hunter2", "API-Key": "k", "apiKey": "k2",
		         "phone_number": "+49 151 1234 5678", "name": "Ann"},
		"items": [{"card_number": "4111111111111111", "sku": "A1"}, "plain"],
		"db_password": "p", "githubToken": "t", "SSN": "123-45-6789",
		"credentials": {"user": "u"}, "amount": 12.5, "session_id": 42, "secret": null
	}`), &in))
	out := Map(in)

	user := out["user"].(map[string]any)
	assert.Equal(t, "a***@example.com", user["Email"])
	assert.Equal(t, Redacted, user["Password"])
	assert.Equal(t, Redacted, user["API-Key"])
	assert.Equal(t, Redacted, user["apiKey"])
	assert.Equal(t, "***5678", user["phone_number"])
	assert.Equal(t, "Ann", user["name"], "a bare 'name' is too generic to mask by default")
	item := out["items"].([]any)[0].(map[string]any)
	assert.Equal(t, "411111******1111", item["card_number"])
	assert.Equal(t, "A1", item["sku"])
	assert.Equal(t, "plain", out["items"].([]any)[1])
	assert.Equal(t, Redacted, out["db_password"])
	assert.Equal(t, Redacted, out["githubToken"])
	assert.Equal(t, "***6789", out["SSN"])
	assert.Equal(t, 12.5, out["amount"])
	assert.Equal(t, Redacted, out["session_id"], "a sensitive key holding a number is redacted whole")
	assert.Nil(t, out["secret"])
	assert.Equal(t, map[string]any{"user": "u"}, out["credentials"])

	assert.Equal(t, "hunter2", in["user"].(map[string]any)["Password"], "the input is not modified")
	assert.Nil(t, Map(nil))
}

func TestMaskerConfig(t *testing.T) {
	m, err := New(Config{Keys: []string{"Mother's Maiden Name"}, Rules: map[string]Rule{"contact": Email}})
	require.NoError(t, err)
	out := m.Map(map[string]any{"mothers_maiden_name": "Smith", "CONTACT": "ann@example.com", "password": "x"})
	assert.Equal(t, Redacted, out["mothers_maiden_name"])
	assert.Equal(t, "a***@example.com", out["CONTACT"])
	assert.Equal(t, Redacted, out["password"])

	only, err := New(Config{NoDefaults: true, Keys: []string{"pin"}})
	require.NoError(t, err)
	out = only.Map(map[string]any{"password": "x", "PIN": "1234"})
	assert.Equal(t, "x", out["password"])
	assert.Equal(t, Redacted, out["PIN"])

	_, err = New(Config{Keys: []string{"--"}})
	assert.ErrorContains(t, err, "mask: Config.Keys[0]")
	_, err = New(Config{Rules: map[string]Rule{"x": nil}})
	assert.ErrorContains(t, err, "mask: Config.Rules")
}
