package sqlsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/keel-go/keel/audit"
)

// DefaultWitnessTable is WitnessConfig.Table's default.
const DefaultWitnessTable = "keel_audit_witness"

// WitnessConfig configures a Witness.
type WitnessConfig struct {
	// DB is the database; the Witness never closes it. Required. It should
	// not be where the witnessed log is kept, nor writable by whoever can
	// edit that log: a witness proves something only out of their reach.
	DB *sql.DB
	// Dialect of DB. Required.
	Dialect Dialect
	// Table holds one row per witnessed log; created by Migrate. Default
	// keel_audit_witness. Letters, digits and underscores only.
	Table string
	// Name says which log this witness keeps: one name per log (per service
	// instance, per sink). Required; at most 255 bytes.
	Name string
}

// Witness is an audit.Witness kept in a SQL table (docs/FORMATS.md,
// "Witness"). Publish is a compare-and-swap on the row of its Name, so two
// writers given the same name cannot silently overwrite each other. It is
// safe for concurrent use.
type Witness struct {
	cfg WitnessConfig
}

// NewWitness validates cfg; it does not touch the database (Migrate does).
func NewWitness(cfg WitnessConfig) (*Witness, error) {
	if cfg.DB == nil {
		return nil, errors.New("sqlsink: WitnessConfig.DB is required")
	}
	if cfg.Dialect < Postgres || cfg.Dialect > MySQL {
		return nil, fmt.Errorf("sqlsink: WitnessConfig.Dialect must be Postgres, SQLite or MySQL, got %d", int(cfg.Dialect))
	}
	if cfg.Table == "" {
		cfg.Table = DefaultWitnessTable
	}
	if !identifier.MatchString(cfg.Table) {
		return nil, fmt.Errorf("sqlsink: WitnessConfig.Table must be letters, digits and underscores (at most 63), got %q", cfg.Table)
	}
	if cfg.Name == "" || len(cfg.Name) > 255 {
		return nil, fmt.Errorf("sqlsink: WitnessConfig.Name must name the witnessed log in 1 to 255 bytes, got %d", len(cfg.Name))
	}
	return &Witness{cfg: cfg}, nil
}

// Schema returns the statement Migrate runs, for migration tools. On
// MySQL and MariaDB the name is binary, so that names compare byte for
// byte ("salesapi-1" and "SALESAPI-1 " are two logs, as on the others).
func (w *Witness) Schema() string {
	name := "VARCHAR(255)"
	if w.cfg.Dialect == MySQL {
		name = "VARBINARY(255)"
	}
	return "CREATE TABLE IF NOT EXISTS " + w.cfg.Table + ` (
	name ` + name + ` NOT NULL PRIMARY KEY,
	log_id CHAR(32) NOT NULL,
	seq BIGINT NOT NULL,
	hash CHAR(64) NOT NULL,
	time_unix_nano BIGINT NOT NULL
)`
}

// Migrate creates the table if it is missing. The writer's account needs
// it once; a verifier's read-only account never does.
func (w *Witness) Migrate(ctx context.Context) error {
	if _, err := w.cfg.DB.ExecContext(ctx, w.Schema()); err != nil {
		return fmt.Errorf("sqlsink: create table %s: %w", w.cfg.Table, err)
	}
	return nil
}

func (w *Witness) param(n int) string {
	if w.cfg.Dialect == Postgres {
		return fmt.Sprintf("$%d", n)
	}
	return "?"
}

// Head returns the row of the witness's Name, or the zero Head when there
// is none. A missing table is an error, so that a verifier given a wrong
// table name is not told that nothing was witnessed.
func (w *Witness) Head(ctx context.Context) (audit.Head, error) {
	var logID, hash string
	var seq, nanos int64
	// SUBSTR bounds what a hostile row can make the reader hold; one
	// character more than the format allows is enough to refuse it.
	err := w.cfg.DB.QueryRowContext(ctx, "SELECT SUBSTR(log_id, 1, 33), seq, SUBSTR(hash, 1, 65), time_unix_nano FROM "+w.cfg.Table+" WHERE name = "+w.param(1), w.cfg.Name).
		Scan(&logID, &seq, &hash, &nanos)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Head{}, nil
	}
	if err != nil {
		return audit.Head{}, fmt.Errorf("sqlsink: read witness %q: %w", w.cfg.Name, err)
	}
	h := audit.Head{LogID: logID, Seq: uint64(max(seq, 0)), Hash: hash, Time: time.Unix(0, nanos).UTC()}
	if seq < 1 || len(logID) != 32 || len(hash) != 64 {
		return audit.Head{}, fmt.Errorf("%w: witness %q in %s holds log %q seq %d hash %q", audit.ErrMalformed, w.cfg.Name, w.cfg.Table, logID, seq, hash)
	}
	return h, nil
}

// Publish replaces the row with next if it holds prev (no row, for the
// zero Head), in one statement.
func (w *Witness) Publish(ctx context.Context, prev, next audit.Head) error {
	if next.IsZero() || next.Seq == 0 || len(next.LogID) != 32 || len(next.Hash) != 64 {
		return fmt.Errorf("sqlsink: publish to witness %q: %s is not a checkpoint head", w.cfg.Name, next)
	}
	t := w.cfg.Table
	var res sql.Result
	var err error
	if prev.IsZero() {
		res, err = w.cfg.DB.ExecContext(ctx, "INSERT INTO "+t+" (name, log_id, seq, hash, time_unix_nano) SELECT "+
			w.param(1)+", "+w.param(2)+", "+w.param(3)+", "+w.param(4)+", "+w.param(5)+
			" WHERE NOT EXISTS (SELECT 1 FROM "+t+" WHERE name = "+w.param(6)+")",
			w.cfg.Name, next.LogID, int64(next.Seq), next.Hash, next.Time.UnixNano(), w.cfg.Name)
	} else {
		res, err = w.cfg.DB.ExecContext(ctx, "UPDATE "+t+" SET log_id = "+w.param(1)+", seq = "+w.param(2)+", hash = "+w.param(3)+
			", time_unix_nano = "+w.param(4)+" WHERE name = "+w.param(5)+" AND log_id = "+w.param(6)+" AND seq = "+w.param(7)+" AND hash = "+w.param(8),
			next.LogID, int64(next.Seq), next.Hash, next.Time.UnixNano(), w.cfg.Name, prev.LogID, int64(prev.Seq), prev.Hash)
	}
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	if err == nil && n == 1 {
		return nil
	}
	// No row changed, or the statement failed (two first publishes racing
	// on the primary key): what the row holds now says which. MySQL also
	// counts a row matched but left as it was as unchanged.
	cur, rerr := w.Head(ctx)
	switch {
	case rerr == nil && cur.Equal(next) && prev.Equal(next):
		return nil // MySQL: matched, and already what it should be
	case rerr == nil && !cur.Equal(prev):
		return fmt.Errorf("%w: witness %q in %s holds %s, the writer expected %s", audit.ErrWitnessConflict, w.cfg.Name, t, cur, prev)
	case err != nil:
		return fmt.Errorf("sqlsink: publish to witness %q: %w", w.cfg.Name, err)
	}
	return fmt.Errorf("sqlsink: publish to witness %q: no row changed", w.cfg.Name)
}
