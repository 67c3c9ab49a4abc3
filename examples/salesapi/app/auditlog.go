package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/keel-go/keel/audit"
	"github.com/keel-go/keel/audit/detect"
	"github.com/keel-go/keel/audit/sqlsink"
	"github.com/keel-go/keel/examples/salesapi/store"
)

// WitnessTable is the table of the service's database that witnesses its
// audit log (audit/sqlsink's Witness).
const WitnessTable = sqlsink.DefaultWitnessTable

// buildAudit opens the audit log, witnessed in the service's database: the
// log lives in the data directory, its witness does not, so cutting the log
// back to an earlier checkpoint (every restart leaves a signed "close"
// checkpoint inside it) is caught. A log found behind its witness is not
// continued: the service starts without an audit logger, refuses every
// change it could not audit (503) and reports the rollback on
// GET /v1/audit/verify and /readyz, until an operator accepts it
// (Config.AuditAcceptRollback, -audit-accept-rollback).
func (a *App) buildAudit(ctx context.Context) error {
	a.auditDir = filepath.Join(a.cfg.DataDir, AuditDir)
	witness, err := a.openWitness(ctx)
	if err != nil {
		return err
	}
	a.auditWitness = witness
	sink, err := audit.NewFileSink(audit.FileSinkConfig{Dir: a.auditDir, Logger: a.cfg.Logger})
	if err != nil {
		return err
	}
	detector, err := detect.New(detect.Config{
		Rules:     []detect.Rule{&detect.BruteForce{Failures: 10, Window: time.Minute}},
		Notifiers: []detect.Notifier{detect.SlogNotifier{Logger: a.cfg.Logger}},
	})
	if err != nil {
		_ = sink.Close()
		return err
	}
	a.audit, err = audit.New(audit.Config{
		Sinks: []audit.Sink{sink}, Witnesses: []audit.Witness{witness}, AcceptRollback: a.cfg.AuditAcceptRollback,
		Mode: audit.Durable, SigningKey: a.keys.auditSign,
		CheckpointEvery: 100, CheckpointInterval: time.Minute,
		Sensitive: []audit.SensitiveField{
			{Name: "email", Treatment: audit.HMAC}, {Name: "phone", Treatment: audit.HMAC},
		},
		HMACKey: a.keys.auditHMAC, Observer: detector, Logger: a.cfg.Logger,
	})
	var rollback *audit.RollbackError
	if errors.As(err, &rollback) {
		a.audit, a.auditBlocked = nil, err
		a.cfg.Logger.Error("audit log is behind its witness: changes are refused until an operator investigates (GET /v1/audit/verify) and accepts the loss with -audit-accept-rollback",
			"witnessed_log", rollback.Witnessed.LogID, "witnessed_seq", rollback.Witnessed.Seq, "last_seq", rollback.LastSeq, "found", rollback.Reason,
			"accept_with", fmt.Sprintf("-audit-accept-rollback %s:%d:%s -audit-accept-reason \"<who and why>\"", rollback.Witnessed.LogID, rollback.Witnessed.Seq, rollback.Witnessed.Hash))
		a.closers = append(a.closers, detector.Close)
		return nil
	}
	if err != nil {
		_ = detector.Close()
		_ = sink.Close()
		return err
	}
	// Close order matters: the logger flushes through the sink, then the
	// detector stops.
	a.closers = append(a.closers, detector.Close, a.audit.Close)
	return nil
}

// auditHealth is the readiness check of the audit log: not ready while it
// is behind its witness, since every change would be refused.
func (a *App) auditHealth(context.Context) error {
	if a.auditBlocked != nil {
		return fmt.Errorf("audit log behind its witness: %w", a.auditBlocked)
	}
	return nil
}

// openWitness opens the audit log's witness: Config.AuditWitnessFile, or a
// row of the service's database. A witness proves something only where
// whoever can cut the log cannot also move it back, so a file inside the
// data directory is refused, and the default SQLite database, which lives
// there, is accepted with a warning.
func (a *App) openWitness(ctx context.Context) (audit.Witness, error) {
	if f := a.cfg.AuditWitnessFile; f != "" {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, fmt.Errorf("salesapi: audit witness file: %w", err)
		}
		if rel, err := filepath.Rel(a.cfg.DataDir, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, fmt.Errorf("salesapi: the audit witness file %s is inside the data directory %s, beside the log it witnesses: put it on another volume", abs, a.cfg.DataDir)
		}
		return audit.NewFileWitness(abs)
	}
	dialect := sqlsink.SQLite
	if a.store.Dialect == store.Postgres {
		dialect = sqlsink.Postgres
	} else {
		a.cfg.Logger.Warn("the audit witness is in the SQLite database inside the data directory, beside the audit log: it catches a log restored or cut on its own, not someone who can edit both; in production use PostgreSQL (-db) or -audit-witness FILE on another volume",
			"database", a.store.SQLitePath)
	}
	witness, err := sqlsink.NewWitness(sqlsink.WitnessConfig{DB: a.store.DB, Dialect: dialect, Name: a.cfg.InstanceName})
	if err != nil {
		return nil, err
	}
	if err := witness.Migrate(ctx); err != nil {
		return nil, err
	}
	return witness, nil
}
