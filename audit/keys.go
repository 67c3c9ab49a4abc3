package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
)

// KeyID names an Ed25519 public key in checkpoint records: the first 8 bytes
// of SHA-256 of the 32-byte key, in lowercase hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// checkpointMessage is what a checkpoint signs: the log id, the
// checkpoint's own sequence number, the hash of the record before it and the
// reason (see docs/FORMATS.md).
func checkpointMessage(logID string, seq uint64, prev, reason string) []byte {
	b := make([]byte, 0, 160)
	b = append(b, "keel-audit-checkpoint-v1\n"...)
	b = append(b, logID...)
	b = append(b, '\n')
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, '\n')
	b = append(b, prev...)
	b = append(b, '\n')
	b = append(b, reason...)
	b = append(b, '\n')
	return b
}

func signCheckpoint(key ed25519.PrivateKey, keyID, logID string, seq uint64, prev, reason string) *Checkpoint {
	sig := ed25519.Sign(key, checkpointMessage(logID, seq, prev, reason))
	return &Checkpoint{Reason: reason, KeyID: keyID, Sig: base64.StdEncoding.EncodeToString(sig)}
}

// verifyCheckpoint checks r's signature with the key it names.
func verifyCheckpoint(r *Record, keys map[string]ed25519.PublicKey) error {
	c := r.Checkpoint
	pub, ok := keys[c.KeyID]
	if !ok {
		return fmt.Errorf("%w: key %s is not among the public keys given", ErrBadSignature, c.KeyID)
	}
	sig, err := base64.StdEncoding.DecodeString(c.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: sig is not a base64 Ed25519 signature", ErrBadSignature)
	}
	if !ed25519.Verify(pub, checkpointMessage(r.LogID, r.Seq, r.Prev, c.Reason), sig) {
		return fmt.Errorf("%w: signature by key %s does not verify", ErrBadSignature, c.KeyID)
	}
	return nil
}

// ParsePublicKey reads an Ed25519 public key from PEM ("PUBLIC KEY", PKIX,
// as written by `openssl pkey -pubout`) or from the standard base64 of the
// raw 32 bytes.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	if block, _ := pem.Decode(data); block != nil {
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("audit: public key: %w", err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, errors.New("audit: public key is not Ed25519")
		}
		return pub, nil
	}
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("audit: public key must be PEM (PKIX) or base64 of 32 bytes")
	}
	return ed25519.PublicKey(raw), nil
}

// ParsePrivateKey reads an Ed25519 private key from PEM ("PRIVATE KEY",
// PKCS #8, as written by `openssl genpkey -algorithm ed25519`). The error
// never contains key material.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("audit: private key must be PEM (PKCS #8)")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("audit: private key is not valid PKCS #8")
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("audit: private key is not Ed25519")
	}
	return priv, nil
}
