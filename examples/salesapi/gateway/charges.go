package gateway

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the gateway's charges
)

// chargeStore keeps the gateway's charges by Idempotency-Key in SQLite: on
// disk, so that a restart forgets no charge, or in memory. Holding them on
// disk also keeps the process's heap flat however many orders are taken.
type chargeStore struct {
	db    *sql.DB
	count atomic.Int64 // rows held, kept beside them to answer Stats without a query
}

func openChargeStore(file string) (*chargeStore, error) {
	dsn := "file::memory:"
	if file != "" {
		// Created private: the charges name amounts and order references.
		f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("gateway: charges: %w", err)
		}
		_ = f.Close()
		// WAL with synchronous NORMAL: a committed charge survives the
		// process being killed (what the example's crash tests do), though
		// not the machine losing power.
		dsn = "file:" + file + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("gateway: charges: %w", err)
	}
	// One connection: the in-memory database lives exactly as long as it,
	// and SQLite has one writer anyway.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	s := &chargeStore{db: db}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS charges (
		idempotency_key TEXT PRIMARY KEY,
		id TEXT NOT NULL UNIQUE,
		amount_cents INTEGER NOT NULL,
		currency TEXT NOT NULL,
		reference TEXT NOT NULL,
		created_at INTEGER NOT NULL)`); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("gateway: charges %s: %w", file, err)
	}
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM charges`).Scan(&n); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("gateway: charges %s: %w", file, err)
	}
	s.count.Store(n)
	return s, nil
}

// ChargeOnce records c under key with a new id, unless key was charged
// before: then it returns that first charge and seen.
//
// Once begun, a charge runs to the end whatever ctx does: the driver
// reports an insert that committed as failed when ctx ends while it runs,
// which would leave a charge on disk that Count and the caller never saw.
func (s *chargeStore) ChargeOnce(ctx context.Context, key string, c Charge) (Charge, bool, error) {
	ctx = context.WithoutCancel(ctx)
	c.ID = newChargeID()
	res, err := s.db.ExecContext(ctx, `INSERT INTO charges (idempotency_key, id, amount_cents, currency, reference, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING`,
		key, c.ID, c.AmountCents, c.Currency, c.Reference, time.Now().UnixMilli())
	if err != nil {
		return Charge{}, false, fmt.Errorf("gateway: record charge: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		s.count.Add(1)
		return c, false, nil
	}
	var first Charge
	err = s.db.QueryRowContext(ctx, `SELECT id, amount_cents, currency, reference FROM charges WHERE idempotency_key = ?`, key).
		Scan(&first.ID, &first.AmountCents, &first.Currency, &first.Reference)
	if errors.Is(err, sql.ErrNoRows) {
		return Charge{}, false, fmt.Errorf("gateway: charge for a known key vanished")
	}
	if err != nil {
		return Charge{}, false, fmt.Errorf("gateway: read charge: %w", err)
	}
	return first, true, nil
}

// Count is how many charges the store holds.
func (s *chargeStore) Count() int { return int(s.count.Load()) }

func (s *chargeStore) Close() error { return s.db.Close() }

// newChargeID is ch_ and 96 random bits: no two charges share an id, across
// restarts and across instances.
func newChargeID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "ch_" + hex.EncodeToString(b)
}
