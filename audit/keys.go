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
// checkpoint's own sequence number, the hash of the record before it, the
// reason and, from record version 2 on, the checkpoint's time exactly as
// stored (see docs/FORMATS.md). Version 1 records (written before the time
// was signed) are still verified with the version 1 message; a record's
// version is covered by its hash, so a version 2 checkpoint cannot be
// passed off as version 1 without breaking the chain.
func checkpointMessage(version int, logID string, seq uint64, prev, reason, timeText string) []byte {
	b := make([]byte, 0, 192)
	if version == 1 {
		b = append(b, "keel-audit-checkpoint-v1\n"...)
	} else {
		b = append(b, "keel-audit-checkpoint-v2\n"...)
	}
	b = append(b, logID...)
	b = append(b, '\n')
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, '\n')
	b = append(b, prev...)
	b = append(b, '\n')
	b = append(b, reason...)
	b = append(b, '\n')
	if version != 1 {
		b = append(b, timeText...)
		b = append(b, '\n')
	}
	return b
}

func signCheckpoint(key ed25519.PrivateKey, keyID, logID string, seq uint64, prev, reason, timeText string) *Checkpoint {
	sig := ed25519.Sign(key, checkpointMessage(formatVersion, logID, seq, prev, reason, timeText))
	return &Checkpoint{Reason: reason, KeyID: keyID, Sig: base64.StdEncoding.EncodeToString(sig)}
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
