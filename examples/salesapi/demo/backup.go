package demo

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"filippo.io/age"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/local"
	"github.com/keel-go/keel/backup/sqlite"
	"github.com/keel-go/keel/examples/salesapi/app"
)

// repository opens the backups under storageDir with the service's key
// files, as `keel backup -config DataDir/backup.json` does.
func (e *env) repository(storageDir string) (*backup.Repository, error) {
	storage, err := local.New(storageDir)
	if err != nil {
		return nil, err
	}
	idText, err := os.ReadFile(filepath.Join(e.dataDir, app.BackupIdentityFile))
	if err != nil {
		return nil, err
	}
	id, err := age.ParseX25519Identity(string(trimNewline(idText)))
	if err != nil {
		return nil, err
	}
	signPEM, err := os.ReadFile(filepath.Join(e.dataDir, app.BackupSigningFile))
	if err != nil {
		return nil, err
	}
	sk, err := backup.ParseSigningKey(signPEM)
	if err != nil {
		return nil, err
	}
	return backup.New(backup.Config{Storage: storage, Identities: []age.Identity{id}, VerifyKeys: []ed25519.PublicKey{sk.Public()}})
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func backupRestore(e *env) ([]string, error) {
	r, err := e.expect(http.StatusCreated, "POST", "/v1/admin/backups", adminKey, nil)
	if err != nil {
		return nil, err
	}
	var m backup.Manifest
	if err := r.decode(&m); err != nil {
		return nil, err
	}
	evidence := []string{fmt.Sprintf("backup %s: %d bytes of SQLite -> %d bytes stored (zstd, age-encrypted, signed manifest)", m.ID, m.RawSize, m.StoredSize)}
	repo, err := e.repository(filepath.Join(e.dataDir, app.BackupDir))
	if err != nil {
		return evidence, err
	}
	defer repo.Close()
	restoreDir, err := os.MkdirTemp("", "salesapi-restore-")
	if err != nil {
		return evidence, err
	}
	defer os.RemoveAll(restoreDir)
	restored := filepath.Join(restoreDir, "sales.db")
	target, err := sqlite.New(sqlite.Config{Path: restored})
	if err != nil {
		return evidence, err
	}
	// A fresh file is another database than the service's: restoring there
	// is an explicit choice (AllowOtherSource), refused without it.
	if _, err := repo.Restore(e.ctx, m.ID, target, backup.RestoreOptions{}); !errors.Is(err, backup.ErrOtherSource) {
		return evidence, fmt.Errorf("restore into another file without AllowOtherSource: want ErrOtherSource, got %v", err)
	}
	if _, err := repo.Restore(e.ctx, m.ID, target, backup.RestoreOptions{AllowOtherSource: true}); err != nil {
		return evidence, fmt.Errorf("restore: %w", err)
	}
	want, err := fingerprint(e.ctx, restored)
	if err != nil {
		return evidence, err
	}
	// Nothing has written to the database since the backup (audit events go
	// to the audit log), so the live database must match row for row.
	live, err := fingerprint(e.ctx, filepath.Join(e.dataDir, app.SQLiteFile))
	if err != nil {
		return evidence, err
	}
	if want != live {
		return evidence, fmt.Errorf("restored data differs: %s vs %s", want, live)
	}
	evidence = append(evidence, "restored into a fresh file: "+want)

	// Corruption: flip one byte of a copy of the stored object.
	copyDir, err := os.MkdirTemp("", "salesapi-backup-copy-")
	if err != nil {
		return evidence, err
	}
	defer os.RemoveAll(copyDir)
	if err := os.CopyFS(copyDir, os.DirFS(filepath.Join(e.dataDir, app.BackupDir))); err != nil {
		return evidence, err
	}
	obj := filepath.Join(copyDir, m.Object)
	b, err := os.ReadFile(obj)
	if err != nil {
		return evidence, err
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(obj, b, 0o600); err != nil {
		return evidence, err
	}
	bad, err := e.repository(copyDir)
	if err != nil {
		return evidence, err
	}
	defer bad.Close()
	if _, err := bad.Verify(e.ctx, m.ID, backup.VerifyOptions{Level: backup.VerifyChecksum}); !errors.Is(err, backup.ErrCorrupt) {
		return evidence, fmt.Errorf("verify of a corrupted backup: want ErrCorrupt, got %v", err)
	}
	other := filepath.Join(restoreDir, "refused.db")
	target2, err := sqlite.New(sqlite.Config{Path: other})
	if err != nil {
		return evidence, err
	}
	if _, err := bad.Restore(e.ctx, m.ID, target2, backup.RestoreOptions{AllowOtherSource: true}); !errors.Is(err, backup.ErrCorrupt) {
		return evidence, fmt.Errorf("restore of a corrupted backup: want ErrCorrupt, got %v", err)
	}
	if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
		return evidence, errors.New("a refused restore left a database file behind")
	}
	return append(evidence, "one flipped byte: verify says corrupt, restore refuses and writes nothing"), nil
}

// fingerprint counts the rows of every table and hashes their content.
func fingerprint(ctx context.Context, path string) (string, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return "", err
	}
	defer db.Close()
	h := sha256.New()
	out := ""
	for _, q := range []struct{ table, query string }{
		{"customers", "SELECT id, name, hex(email_enc), email_bidx, hex(phone_enc), company, created_at, updated_at FROM customers ORDER BY id"},
		{"licenses", "SELECT id, customer_id, product, seats, expires_at, created_at FROM licenses ORDER BY id"},
		{"orders", "SELECT id, customer_id, currency, total_cents, status, payment_id, created_at FROM orders ORDER BY id"},
		{"order_items", "SELECT order_id, line, sku, qty, unit_price_cents FROM order_items ORDER BY order_id, line"},
	} {
		rows, err := db.QueryContext(ctx, q.query)
		if err != nil {
			return "", fmt.Errorf("%s: %w", q.table, err)
		}
		cols, _ := rows.Columns()
		n := 0
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return "", err
			}
			fmt.Fprintln(h, vals...)
			n++
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return "", fmt.Errorf("%s: %w", q.table, err)
		}
		rows.Close()
		out += fmt.Sprintf("%s=%d ", q.table, n)
	}
	return out + "sha256=" + hex.EncodeToString(h.Sum(nil))[:16], nil
}
