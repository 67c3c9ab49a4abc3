package app

import (
	"context"
	"net/http"
	"path/filepath"
	"time"

	"filippo.io/age"

	"github.com/keel-go/keel/audit"
	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/local"
	"github.com/keel-go/keel/backup/postgres"
	"github.com/keel-go/keel/backup/sqlite"
	"github.com/keel-go/keel/examples/salesapi/store"
)

// buildBackups sets up the repository (encrypted to the service's age
// identity, signed with its key, stored under DataDir/backups), writes the
// matching `keel backup` config file, and starts the schedule if any.
func (a *App) buildBackups(context.Context) error {
	storage, err := local.New(filepath.Join(a.cfg.DataDir, BackupDir))
	if err != nil {
		return err
	}
	var source backup.Source
	driver := "sqlite"
	if a.store.Dialect == store.Postgres {
		driver = "postgres"
		source, err = postgres.New(postgres.Config{DSN: a.cfg.DatabaseURL, NoOwner: true})
	} else {
		source, err = sqlite.New(sqlite.Config{Path: a.store.SQLitePath})
	}
	if err != nil {
		return err
	}
	recipient := a.keys.backupIdent.Recipient()
	a.backups, err = backup.New(backup.Config{
		Storage: storage, Source: source, Recipients: []age.Recipient{recipient},
		Identities: []age.Identity{a.keys.backupIdent}, SigningKey: a.keys.backupSign, Logger: a.cfg.Logger,
	})
	if err != nil {
		return err
	}
	a.closers = append(a.closers, a.backups.Close)
	if err := writeBackupCLIConfig(a.cfg.DataDir, driver, a.store.SQLitePath, recipient); err != nil {
		return err
	}
	if a.cfg.BackupEvery > 0 {
		sched, err := backup.ParseSchedule(a.cfg.BackupEvery.String(), time.UTC)
		if err != nil {
			return err
		}
		a.scheduler, err = backup.NewScheduler(backup.SchedulerConfig{
			Schedule: sched, Timeout: time.Hour, Logger: a.cfg.Logger,
			Lock: backup.FileLock{Path: filepath.Join(a.cfg.DataDir, "backup.lock")},
			Job: func(ctx context.Context) error {
				_, err := a.backupNow(ctx)
				return err
			},
		})
		if err != nil {
			return err
		}
		a.closers = append(a.closers, a.scheduler.Close)
	}
	return nil
}

// backupNow creates a backup and verifies it by reading it back in full
// (decrypt, decompress, checksum).
func (a *App) backupNow(ctx context.Context) (*backup.Manifest, error) {
	m, err := a.backups.Create(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := a.backups.Verify(ctx, m.ID, backup.VerifyOptions{Level: backup.VerifyFull}); err != nil {
		return m, err
	}
	a.lastBackup.Lock()
	a.lastBackup.at = m.FinishedAt
	a.lastBackup.Unlock()
	return m, nil
}

func (a *App) lastBackupAt() time.Time {
	a.lastBackup.Lock()
	defer a.lastBackup.Unlock()
	return a.lastBackup.at
}

func (a *App) createBackup(w http.ResponseWriter, r *http.Request) {
	m, err := a.backupNow(r.Context())
	if err != nil {
		a.internal(w, r, "backup", err)
		return
	}
	if err := a.auditEvent(r, audit.Event{Action: "backup.create", Resource: audit.Resource{Type: "backup", ID: m.ID}, Outcome: audit.Success,
		After: map[string]any{"stored_size": m.StoredSize, "raw_size": m.RawSize}}); err != nil {
		notAudited(w, "backup "+m.ID+" was created")
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

func (a *App) listBackups(w http.ResponseWriter, r *http.Request) {
	entries, err := a.backups.List(r.Context())
	if err != nil {
		a.internal(w, r, "list backups", err)
		return
	}
	type item struct {
		ID         string           `json:"id"`
		Manifest   *backup.Manifest `json:"manifest,omitempty"`
		VerifiedAt *time.Time       `json:"verified_at,omitempty"`
		Level      string           `json:"verify_level,omitempty"`
		Error      string           `json:"error,omitempty"`
	}
	out := []item{}
	for _, e := range entries {
		it := item{ID: e.ID, Manifest: e.Manifest}
		if e.Verification != nil {
			it.VerifiedAt, it.Level = &e.Verification.VerifiedAt, e.Verification.Level.String()
		}
		if e.Err != nil {
			it.Error = e.Err.Error()
		}
		out = append(out, it)
	}
	writeJSON(w, http.StatusOK, map[string]any{"backups": out})
}

// chaos is POST /v1/admin/chaos: it changes the simulated payment gateway.
func (a *App) chaos(w http.ResponseWriter, r *http.Request) {
	if a.gateway == nil {
		problem(w, http.StatusNotFound, CodeNotFound, "no simulated gateway in this process")
		return
	}
	// Decoded here only to hold the body to the API's rules (one object,
	// known members, no trailing data); the gateway applies it.
	var settings struct {
		FailureRate *float64 `json:"failure_rate"`
		LatencyMS   *int64   `json:"latency_ms"`
		Down        *bool    `json:"down"`
	}
	body, ok := readJSON(w, r, &settings, 1<<16)
	if !ok {
		return
	}
	if err := a.gateway.SetChaos(body); err != nil {
		problem(w, http.StatusUnprocessableEntity, CodeInvalid, err.Error())
		return
	}
	if err := a.auditEvent(r, audit.Event{Action: "gateway.chaos", Resource: audit.Resource{Type: "gateway", ID: "payment"}, Outcome: audit.Success,
		After: map[string]any{"settings": string(body)}}); err != nil {
		notAudited(w, "the gateway settings were changed")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// gatewayStats is GET /v1/admin/gateway: what the simulated gateway did.
func (a *App) gatewayStats(w http.ResponseWriter, r *http.Request) {
	if a.gateway == nil {
		problem(w, http.StatusNotFound, CodeNotFound, "no simulated gateway in this process")
		return
	}
	writeJSON(w, http.StatusOK, a.gateway.Stats())
}

// notAudited answers an admin action that was done but, unlike a database
// change, cannot be rolled back when its audit event fails to be written.
func notAudited(w http.ResponseWriter, done string) {
	unavailable(w, "audit_unavailable", done+", but the audit log could not record it", time.Second)
}
