package backup

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
)

// SigningKey signs manifests and verification records with Ed25519. It
// prints as [REDACTED] through fmt and slog.
type SigningKey struct {
	key ed25519.PrivateKey
}

// NewSigningKey wraps an Ed25519 private key.
func NewSigningKey(k ed25519.PrivateKey) (*SigningKey, error) {
	if len(k) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("backup: signing key must be %d bytes, got %d", ed25519.PrivateKeySize, len(k))
	}
	return &SigningKey{key: k}, nil
}

// GenerateSigningKey returns a fresh key from crypto/rand.
func GenerateSigningKey() (*SigningKey, error) {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("backup: generate signing key: %w", err)
	}
	return &SigningKey{key: k}, nil
}

// Public returns the key that verifies this key's signatures.
func (k *SigningKey) Public() ed25519.PublicKey { return k.key.Public().(ed25519.PublicKey) }

// MarshalPEM encodes the private key as PKCS #8 PEM ("PRIVATE KEY"), the
// form `openssl genpkey -algorithm ed25519` writes.
func (k *SigningKey) MarshalPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.key)
	if err != nil {
		return nil, fmt.Errorf("backup: encode signing key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// String implements fmt.Stringer without revealing the key.
func (k *SigningKey) String() string { return "[REDACTED]" }

// Format prints [REDACTED] for every verb.
func (k *SigningKey) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("[REDACTED]")) }

// LogValue implements slog.LogValuer.
func (k *SigningKey) LogValue() slog.Value { return slog.StringValue("[REDACTED]") }

// ParseSigningKey decodes a PKCS #8 PEM Ed25519 private key.
func ParseSigningKey(pemBytes []byte) (*SigningKey, error) {
	b, _ := pem.Decode(pemBytes)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, errors.New("backup: signing key: expected a PEM \"PRIVATE KEY\" block")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, errors.New("backup: signing key: not a PKCS #8 private key")
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("backup: signing key: expected Ed25519, got %T", k)
	}
	return &SigningKey{key: ek}, nil
}

// MarshalPublicKeyPEM encodes a verification key as PKIX PEM ("PUBLIC KEY").
func MarshalPublicKeyPEM(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("backup: encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicKey decodes a PKIX PEM Ed25519 public key.
func ParsePublicKey(pemBytes []byte) (ed25519.PublicKey, error) {
	b, _ := pem.Decode(pemBytes)
	if b == nil || b.Type != "PUBLIC KEY" {
		return nil, errors.New("backup: public key: expected a PEM \"PUBLIC KEY\" block")
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("backup: public key: %w", err)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("backup: public key: expected Ed25519, got %T", k)
	}
	return ek, nil
}

// KeyID names a verification key in records: the first 8 bytes of the
// SHA-256 of the raw public key, in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// envelope is the signed container of every record Keel stores beside a
// backup. The signature covers the type, a newline and the payload bytes
// exactly as they appear in the file, so decoding never depends on
// re-encoding JSON the same way.
type envelope struct {
	Type      string          `json:"type"`
	Payload   json.RawMessage `json:"payload"`
	Signature envSignature    `json:"signature"`
}

type envSignature struct {
	Algorithm string `json:"alg"`
	KeyID     string `json:"key_id"`
	Value     string `json:"value"`
}

// maxRecordSize bounds what the decoder reads; a manifest is a few hundred bytes.
const maxRecordSize = 1 << 20

func signedBytes(typ string, payload []byte) []byte {
	msg := make([]byte, 0, len(typ)+1+len(payload))
	msg = append(msg, typ...)
	msg = append(msg, '\n')
	return append(msg, payload...)
}

// seal signs v (any JSON-encodable value) as a record of type typ, with
// its payload indented for people who open the file. The payload is
// indented with the prefix it has inside the indented envelope, so that
// indenting the envelope leaves its bytes as they were signed.
func seal(typ string, v any, key *SigningKey) ([]byte, error) {
	payload, err := json.MarshalIndent(v, "  ", "  ")
	if err != nil {
		return nil, fmt.Errorf("backup: encode %s: %w", typ, err)
	}
	out, err := json.MarshalIndent(envelope{Type: typ, Payload: payload, Signature: sign(typ, payload, key)}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("backup: encode %s: %w", typ, err)
	}
	return append(out, '\n'), nil
}

// sealCompact signs an encoded payload as a record of type typ and keeps
// the payload's bytes as they are: encoding/json would re-indent it, so
// the envelope around it is written here.
func sealCompact(typ string, payload []byte, key *SigningKey) ([]byte, error) {
	typJSON, err := json.Marshal(typ)
	if err != nil {
		return nil, fmt.Errorf("backup: encode %s: %w", typ, err)
	}
	sigJSON, err := json.Marshal(sign(typ, payload, key))
	if err != nil {
		return nil, fmt.Errorf("backup: encode %s: %w", typ, err)
	}
	var b bytes.Buffer
	b.Grow(len(payload) + len(sigJSON) + 64)
	b.WriteString("{\n  \"type\": ")
	b.Write(typJSON)
	b.WriteString(",\n  \"payload\": ")
	b.Write(payload)
	b.WriteString(",\n  \"signature\": ")
	b.Write(sigJSON)
	b.WriteString("\n}\n")
	return b.Bytes(), nil
}

func sign(typ string, payload []byte, key *SigningKey) envSignature {
	return envSignature{
		Algorithm: "ed25519",
		KeyID:     KeyID(key.Public()),
		Value:     base64.StdEncoding.EncodeToString(ed25519.Sign(key.key, signedBytes(typ, payload))),
	}
}

// open checks data's envelope and signature and returns the payload bytes.
func open(data []byte, typ string, keys []ed25519.PublicKey) ([]byte, error) {
	_, payload, err := openAny(data, []string{typ}, keys, maxRecordSize)
	return payload, err
}

// openAny is open for a record of any of types, at most limit bytes; it
// returns the record's type with the payload.
func openAny(data []byte, types []string, keys []ed25519.PublicKey, limit int) (string, []byte, error) {
	if len(data) > limit {
		return "", nil, &MalformedError{Reason: fmt.Sprintf("larger than %d bytes", limit)}
	}
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return "", nil, &MalformedError{Reason: "not a JSON envelope: " + err.Error()}
	}
	if dec.More() {
		return "", nil, &MalformedError{Reason: "trailing data after the envelope"}
	}
	if !slices.Contains(types, env.Type) {
		return "", nil, &MalformedError{Field: "type", Reason: fmt.Sprintf("want %s, got %q", quoted(types), env.Type)}
	}
	typ := env.Type
	if len(env.Payload) == 0 || env.Payload[0] != '{' {
		return "", nil, &MalformedError{Field: "payload", Reason: "must be a JSON object"}
	}
	if env.Signature.Algorithm != "ed25519" {
		return "", nil, &MalformedError{Field: "signature.alg", Reason: fmt.Sprintf("want \"ed25519\", got %q", env.Signature.Algorithm)}
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signature.Value)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return "", nil, &MalformedError{Field: "signature.value", Reason: "not a base64 Ed25519 signature"}
	}
	msg := signedBytes(typ, env.Payload)
	for _, k := range keys {
		if KeyID(k) == env.Signature.KeyID {
			if ed25519.Verify(k, msg, sig) {
				return typ, env.Payload, nil
			}
			return "", nil, fmt.Errorf("%w: content does not match the signature of key %s", ErrSignature, env.Signature.KeyID)
		}
	}
	return "", nil, fmt.Errorf("%w: signed by unknown key %q", ErrSignature, env.Signature.KeyID)
}

func quoted(types []string) string {
	q := make([]string, len(types))
	for i, t := range types {
		q[i] = strconv.Quote(t)
	}
	return strings.Join(q, " or ")
}
