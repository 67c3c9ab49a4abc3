package app

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"filippo.io/age"

	"github.com/keel-go/keel/audit"
	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/crypto/field"
)

// The key files the service keeps in its data directory, all 0600.
const (
	KeyringFile        = "keyring.json"        // field encryption keys and the blind-index root key
	AuditSigningFile   = "audit-signing.pem"   // Ed25519, signs audit checkpoints
	AuditPublicFile    = "audit-signing.pub"   // its public key, for `keel audit verify`
	AuditHMACFile      = "audit-hmac.key"      // HMAC key for sensitive audit values
	BackupSigningFile  = "backup-signing.pem"  // Ed25519, signs backup manifests
	BackupIdentityFile = "backup-identity.txt" // age X25519 identity that decrypts backups
	BackupConfigFile   = "backup.json"         // `keel backup … -config` reads this
	BackupDir          = "backups"
	AuditDir           = "audit"
	SQLiteFile         = "sales.db"
)

// keys is every secret the service runs with.
type keys struct {
	ring        *field.Ring
	indexKey    field.Secret[[]byte]
	auditSign   ed25519.PrivateKey
	auditHMAC   []byte
	backupSign  *backup.SigningKey
	backupIdent *age.X25519Identity
}

// loadOrCreateKeys reads the key files from dir, creating any that is
// missing. A file that exists but cannot be parsed is an error, never
// silently replaced: data under the old key would become unreadable. With
// auditKeyFile the audit signing key is read from there instead (never
// created: it is the operator's, kept away from the log it signs).
func loadOrCreateKeys(dir, auditKeyFile string) (*keys, error) {
	k := &keys{}
	ksData, err := readOrCreate(filepath.Join(dir, KeyringFile), func() ([]byte, error) {
		ks, err := field.GenerateKeyset(field.XChaCha20Poly1305)
		if err != nil {
			return nil, err
		}
		return field.MarshalKeyset(ks)
	})
	if err != nil {
		return nil, err
	}
	ks, err := field.ParseKeyset(ksData)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KeyringFile, err)
	}
	if k.ring, err = ks.Ring(); err != nil {
		return nil, fmt.Errorf("%s: %w", KeyringFile, err)
	}
	k.indexKey = ks.IndexKey

	signPEM, err := readAuditKey(auditKeyFile)
	if auditKeyFile == "" {
		signPEM, err = readOrCreate(filepath.Join(dir, AuditSigningFile), func() ([]byte, error) {
			_, priv, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				return nil, err
			}
			der, err := x509.MarshalPKCS8PrivateKey(priv)
			if err != nil {
				return nil, err
			}
			return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
		})
	}
	if err != nil {
		return nil, err
	}
	if k.auditSign, err = audit.ParsePrivateKey(signPEM); err != nil {
		return nil, fmt.Errorf("%s: %w", cmp.Or(auditKeyFile, AuditSigningFile), err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(k.auditSign.Public())
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, AuditPublicFile), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return nil, err
	}

	if k.auditHMAC, err = readOrCreate(filepath.Join(dir, AuditHMACFile), func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return b, err
	}); err != nil {
		return nil, err
	}

	bsPEM, err := readOrCreate(filepath.Join(dir, BackupSigningFile), func() ([]byte, error) {
		sk, err := backup.GenerateSigningKey()
		if err != nil {
			return nil, err
		}
		return sk.MarshalPEM()
	})
	if err != nil {
		return nil, err
	}
	if k.backupSign, err = backup.ParseSigningKey(bsPEM); err != nil {
		return nil, fmt.Errorf("%s: %w", BackupSigningFile, err)
	}

	idText, err := readOrCreate(filepath.Join(dir, BackupIdentityFile), func() ([]byte, error) {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, err
		}
		return []byte(id.String() + "\n"), nil
	})
	if err != nil {
		return nil, err
	}
	ids, err := age.ParseIdentities(bytes.NewReader(idText))
	if err != nil || len(ids) != 1 {
		return nil, fmt.Errorf("%s: not one age X25519 identity", BackupIdentityFile)
	}
	var ok bool
	if k.backupIdent, ok = ids[0].(*age.X25519Identity); !ok {
		return nil, fmt.Errorf("%s: not an age X25519 identity", BackupIdentityFile)
	}
	return k, nil
}

// readOrCreate returns the file's content, first writing make's output to it
// (0600, atomically) if it does not exist.
func readOrCreate(path string, make func() ([]byte, error)) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		return data, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("salesapi: read %s: %w", filepath.Base(path), err)
	}
	data, err = make()
	if err != nil {
		return nil, fmt.Errorf("salesapi: create %s: %w", filepath.Base(path), err)
	}
	if err := writeFileAtomic(path, data, 0o600); err != nil {
		return nil, err
	}
	return data, nil
}

// writeFileAtomic writes data to a temporary name, syncs it, and renames it
// into place, so a crash leaves the old file or the new one, never half.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("salesapi: write %s: %w", filepath.Base(path), err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	err = tmp.Chmod(perm)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("salesapi: write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// backupCLIConfig is the file `keel backup <cmd> -config DataDir/backup.json`
// reads, so that the operator restores with exactly the service's settings.
// It names key files, never key material; a PostgreSQL source DSN is taken
// from KEEL_BACKUP_SOURCE by the CLI, not written here.
func writeBackupCLIConfig(dir, driver, sqlitePath string, recipient *age.X25519Recipient) error {
	cfg := map[string]any{
		"driver":      driver,
		"recipient":   []string{recipient.String()},
		"storage":     filepath.Join(dir, BackupDir),
		"compression": "zstd",
		"identity":    []string{filepath.Join(dir, BackupIdentityFile)},
		"signing-key": filepath.Join(dir, BackupSigningFile),
	}
	if driver == "sqlite" {
		cfg["source"] = sqlitePath
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, BackupConfigFile), append(data, '\n'), 0o600)
}

// readAuditKey reads an audit signing key file the operator keeps outside
// the data directory; it must not be readable by group or others.
func readAuditKey(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("audit signing key %s is readable by group or others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	return data, nil
}
