package fernet

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/keel-go/keel/crypto/field"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// vector is one entry of the Fernet spec's generate.json, verify.json or
// invalid.json (testdata/ORIGIN.md).
type vector struct {
	Desc   string    `json:"desc"`
	Token  string    `json:"token"`
	Now    time.Time `json:"now"`
	IV     []byte    `json:"-"`
	IVInts []int     `json:"iv"`
	Src    string    `json:"src"`
	Secret string    `json:"secret"`
	TTLSec int       `json:"ttl_sec"`
}

func loadVectors(t *testing.T, name string) []vector {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	var vs []vector
	require.NoError(t, json.Unmarshal(data, &vs))
	require.NotEmpty(t, vs)
	for i := range vs {
		for _, b := range vs[i].IVInts {
			vs[i].IV = append(vs[i].IV, byte(b))
		}
	}
	return vs
}

func TestSpecGenerateVectors(t *testing.T) {
	for _, v := range loadVectors(t, "generate.json") {
		k, err := DecodeKey(v.Secret)
		require.NoError(t, err)
		assert.Equal(t, v.Token, encrypt(k, []byte(v.Src), v.Now, v.IV))
	}
}

func TestSpecVerifyVectors(t *testing.T) {
	for _, v := range loadVectors(t, "verify.json") {
		k, err := DecodeKey(v.Secret)
		require.NoError(t, err)
		msg, err := DecryptAtTime(v.Token, time.Duration(v.TTLSec)*time.Second, v.Now, k)
		require.NoError(t, err)
		assert.Equal(t, v.Src, string(msg))
	}
}

func TestSpecInvalidVectors(t *testing.T) {
	vs := loadVectors(t, "invalid.json")
	require.Len(t, vs, 11)
	for _, v := range vs {
		t.Run(v.Desc, func(t *testing.T) {
			k, err := DecodeKey(v.Secret)
			require.NoError(t, err)
			_, err = DecryptAtTime(v.Token, time.Duration(v.TTLSec)*time.Second, v.Now, k)
			require.ErrorIs(t, err, field.ErrDecrypt)
			if v.Desc == "expired TTL" {
				assert.ErrorIs(t, err, ErrExpired)
			} else {
				assert.NotErrorIs(t, err, ErrExpired)
			}
		})
	}
}
