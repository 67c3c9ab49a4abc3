package sqlsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/keel-go/keel/audit"
)

// Dialect names the SQL dialect of the database.
type Dialect int

// The supported dialects.
const (
	Postgres Dialect = iota + 1
	SQLite
	MySQL
)

func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "postgres"
	case SQLite:
		return "sqlite"
	case MySQL:
		return "mysql"
	}
	return "dialect(" + strconv.Itoa(int(d)) + ")"
}

// DefaultTable is Config.Table's default.
const DefaultTable = "keel_audit_log"

// Config configures a Sink.
type Config struct {
	// DB is the database; the Sink never closes it. Required.
	DB *sql.DB
	// Dialect of DB. Required.
	Dialect Dialect
	// Table holds the log; created with its indexes by Open when missing.
	// Default keel_audit_log. Letters, digits and underscores only.
	Table string
}

// Sink is an audit.Sink, audit.Source, audit.SeekSource,
// audit.SegmentedSource and audit.Querier over a SQL table.
type Sink struct {
	cfg Config
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// New validates cfg.
func New(cfg Config) (*Sink, error) {
	if cfg.DB == nil {
		return nil, errors.New("sqlsink: Config.DB is required")
	}
	if cfg.Dialect < Postgres || cfg.Dialect > MySQL {
		return nil, fmt.Errorf("sqlsink: Config.Dialect must be Postgres, SQLite or MySQL, got %d", int(cfg.Dialect))
	}
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	if !identifier.MatchString(cfg.Table) {
		return nil, fmt.Errorf("sqlsink: Config.Table must be letters, digits and underscores (at most 63), got %q", cfg.Table)
	}
	return &Sink{cfg: cfg}, nil
}

// indexedLen bounds the searchable copies; longer values are cut (Query
// re-checks every match against the record itself).
const indexedLen = 255

func (s *Sink) schema() []string {
	t := s.cfg.Table
	blob := map[Dialect]string{Postgres: "BYTEA", SQLite: "BLOB", MySQL: "LONGBLOB"}[s.cfg.Dialect]
	cols := `seq BIGINT NOT NULL PRIMARY KEY,
	kind VARCHAR(16) NOT NULL,
	time_unix_nano BIGINT NOT NULL,
	actor_id VARCHAR(255) NOT NULL,
	action VARCHAR(255) NOT NULL,
	resource_type VARCHAR(255) NOT NULL,
	resource_id VARCHAR(255) NOT NULL,
	outcome VARCHAR(16) NOT NULL,
	tenant VARCHAR(255) NOT NULL,
	line ` + blob + ` NOT NULL`
	indexes := [][2]string{
		{"actor", "actor_id, time_unix_nano"},
		{"resource", "resource_type, resource_id, time_unix_nano"},
		{"action", "action, time_unix_nano"},
		{"time", "time_unix_nano"},
	}
	if s.cfg.Dialect == MySQL {
		for _, ix := range indexes {
			cols += fmt.Sprintf(",\n\tINDEX %s_%s (%s)", t, ix[0], ix[1])
		}
		return []string{fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (\n\t%s\n) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", t, cols)}
	}
	stmts := []string{fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (\n\t%s\n)", t, cols)}
	for _, ix := range indexes {
		stmts = append(stmts, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s_%s ON %s (%s)", t, ix[0], t, ix[1]))
	}
	return stmts
}

// Open creates the table if missing and returns its last record.
func (s *Sink) Open(ctx context.Context) (audit.OpenState, error) {
	for _, stmt := range s.schema() {
		if _, err := s.cfg.DB.ExecContext(ctx, stmt); err != nil {
			return audit.OpenState{}, fmt.Errorf("sqlsink: create table %s: %w", s.cfg.Table, err)
		}
	}
	var line []byte
	err := s.cfg.DB.QueryRowContext(ctx, "SELECT line FROM "+s.cfg.Table+" ORDER BY seq DESC LIMIT 1").Scan(&line)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.OpenState{}, nil
	}
	if err != nil {
		return audit.OpenState{}, fmt.Errorf("sqlsink: read last record: %w", err)
	}
	r, err := audit.DecodeLine(line)
	if err != nil {
		return audit.OpenState{}, fmt.Errorf("sqlsink: last record of %s: %w (run Verify)", s.cfg.Table, err)
	}
	return audit.OpenState{Last: r}, nil
}

// rowsPerInsert keeps a multi-row INSERT well under every dialect's limit
// on bound parameters.
const rowsPerInsert = 200

const columns = "seq, kind, time_unix_nano, actor_id, action, resource_type, resource_id, outcome, tenant, line"

// Append inserts recs atomically: one multi-row INSERT (a single
// statement is atomic on its own), or a transaction of several for a batch
// larger than rowsPerInsert. sync is ignored: a committed statement is as
// durable as the database is configured to make it.
func (s *Sink) Append(ctx context.Context, recs []*audit.Record, _ bool) (err error) {
	if len(recs) == 0 {
		return nil
	}
	if len(recs) <= rowsPerInsert {
		query, args := s.insert(recs)
		if _, err := s.cfg.DB.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("sqlsink: insert: %w", err)
		}
		return nil
	}
	tx, err := s.cfg.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlsink: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	for start := 0; start < len(recs); start += rowsPerInsert {
		query, args := s.insert(recs[start:min(start+rowsPerInsert, len(recs))])
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("sqlsink: insert: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlsink: commit: %w", err)
	}
	return nil
}

// insert builds one multi-row INSERT of recs.
func (s *Sink) insert(recs []*audit.Record) (string, []any) {
	var sb strings.Builder
	args := make([]any, 0, 10*len(recs))
	sb.WriteString("INSERT INTO " + s.cfg.Table + " (" + columns + ") VALUES ")
	for i, r := range recs {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('(')
		for c := range 10 {
			if c > 0 {
				sb.WriteByte(',')
			}
			s.placeholder(&sb, len(args)+c+1)
		}
		sb.WriteByte(')')
		args = append(args, rowValues(r)...)
	}
	return sb.String(), args
}

func (s *Sink) placeholder(sb *strings.Builder, n int) {
	if s.cfg.Dialect == Postgres {
		sb.WriteByte('$')
		sb.WriteString(strconv.Itoa(n))
		return
	}
	sb.WriteByte('?')
}

func rowValues(r *audit.Record) []any {
	var e audit.Event
	if r.Event != nil {
		e = *r.Event
	}
	return []any{int64(r.Seq), string(r.Kind), r.Time.UnixNano(), cut(e.Actor.ID), cut(e.Action),
		cut(e.Resource.Type), cut(e.Resource.ID), string(e.Outcome), cut(e.Tenant), r.Line}
}

// cut shortens s to at most indexedLen characters.
func cut(s string) string {
	if utf8.RuneCountInString(s) <= indexedLen {
		return s
	}
	return string([]rune(s)[:indexedLen])
}

// Close does nothing: the DB belongs to the caller.
func (s *Sink) Close() error { return nil }

// Lines streams the rows in seq order. A SQL log has no retention, so
// its first row carries Line.Start 1: Verify then refuses a log whose first
// rows were deleted, whatever record the remaining ones start with.
func (s *Sink) Lines(ctx context.Context) iter.Seq2[audit.Line, error] {
	return s.rows(ctx, "", nil, 1)
}

// LinesFrom streams the rows from seq on.
func (s *Sink) LinesFrom(ctx context.Context, seq uint64) iter.Seq2[audit.Line, error] {
	if seq <= 1 {
		return s.Lines(ctx)
	}
	return s.rows(ctx, " WHERE seq >= "+s.param(1), []any{int64(seq)}, 0)
}

// rangeRows is how many seq values one part of Segments covers: enough that
// a part's query costs little beside reading it.
const rangeRows = 1 << 16

// Segments splits the rows from seq from on into ranges of seq values,
// each read by its own query, so that Verify can check them in parallel.
func (s *Sink) Segments(ctx context.Context, from uint64) ([]audit.Source, error) {
	query := "SELECT MIN(seq), MAX(seq), COUNT(*) FROM " + s.cfg.Table
	var args []any
	if from > 1 {
		query += " WHERE seq >= " + s.param(1)
		args = append(args, int64(from))
	}
	var lo, hi sql.NullInt64
	var count int64
	if err := s.cfg.DB.QueryRowContext(ctx, query, args...).Scan(&lo, &hi, &count); err != nil {
		return nil, fmt.Errorf("sqlsink: read: %w", err)
	}
	if !lo.Valid || hi.Int64-lo.Int64+1 != count {
		// No rows, or seq values that are not one unbroken run (the chain
		// is broken, or a row was planted far away): one part, which Verify
		// reads in one pass. Ranges over such values could be countless.
		return []audit.Source{fromSource{s, from}}, nil
	}
	var parts []audit.Source
	for start := lo.Int64; ; start += rangeRows {
		p := seqRange{s: s, from: start, to: start + rangeRows}
		if start == lo.Int64 && from <= 1 {
			p.start = 1
		}
		parts = append(parts, p)
		if hi.Int64-start < rangeRows {
			return parts, nil
		}
	}
}

// fromSource reads the rows from seq from on.
type fromSource struct {
	s    *Sink
	from uint64
}

func (f fromSource) Lines(ctx context.Context) iter.Seq2[audit.Line, error] {
	return f.s.LinesFrom(ctx, f.from)
}

// seqRange is one part of Segments: the rows with from <= seq < to.
type seqRange struct {
	s        *Sink
	from, to int64
	start    uint64 // Line.Start of the first row
}

func (r seqRange) Lines(ctx context.Context) iter.Seq2[audit.Line, error] {
	return r.s.rows(ctx, " WHERE seq >= "+r.s.param(1)+" AND seq < "+r.s.param(2), []any{r.from, r.to}, r.start)
}

func (s *Sink) param(n int) string {
	var sb strings.Builder
	s.placeholder(&sb, n)
	return sb.String()
}

// rows streams "SELECT seq, line" with the condition where, in seq order;
// the first row gets Line.Start start.
func (s *Sink) rows(ctx context.Context, where string, args []any, start uint64) iter.Seq2[audit.Line, error] {
	return func(yield func(audit.Line, error) bool) {
		rows, err := s.cfg.DB.QueryContext(ctx, "SELECT seq, line FROM "+s.cfg.Table+where+" ORDER BY seq", args...)
		if err != nil {
			yield(audit.Line{}, fmt.Errorf("sqlsink: read: %w", err))
			return
		}
		defer rows.Close()
		for first := true; rows.Next(); first = false {
			var seq int64
			var line []byte
			if err := rows.Scan(&seq, &line); err != nil {
				yield(audit.Line{}, fmt.Errorf("sqlsink: read: %w", err))
				return
			}
			l := audit.Line{Bytes: line, Where: "row seq=" + strconv.FormatInt(seq, 10)}
			if first {
				l.Start = start
			}
			if !yield(l, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(audit.Line{}, fmt.Errorf("sqlsink: read: %w", err))
		}
	}
}

// Query streams the events f selects, in log order, using the indexes;
// each match is decoded, its hash checked, and re-tested against f.
func (s *Sink) Query(ctx context.Context, f audit.Filter) iter.Seq2[*audit.Record, error] {
	return func(yield func(*audit.Record, error) bool) {
		var sb strings.Builder
		args := []any{string(audit.KindEvent)}
		sb.WriteString("SELECT seq, line FROM " + s.cfg.Table + " WHERE kind = ")
		s.placeholder(&sb, 1)
		add := func(cond string, v any) {
			args = append(args, v)
			sb.WriteString(" AND " + cond)
			s.placeholder(&sb, len(args))
		}
		for _, c := range []struct{ col, v string }{
			{"actor_id", f.ActorID}, {"action", f.Action}, {"resource_type", f.ResourceType},
			{"resource_id", f.ResourceID}, {"outcome", string(f.Outcome)}, {"tenant", f.Tenant},
		} {
			if c.v != "" {
				add(c.col+" = ", cut(c.v))
			}
		}
		if !f.Since.IsZero() {
			add("time_unix_nano >= ", f.Since.UnixNano())
		}
		if !f.Until.IsZero() {
			add("time_unix_nano < ", f.Until.UnixNano())
		}
		sb.WriteString(" ORDER BY seq")
		rows, err := s.cfg.DB.QueryContext(ctx, sb.String(), args...)
		if err != nil {
			yield(nil, fmt.Errorf("sqlsink: query: %w", err))
			return
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var seq int64
			var line []byte
			if err := rows.Scan(&seq, &line); err != nil {
				yield(nil, fmt.Errorf("sqlsink: query: %w", err))
				return
			}
			r, err := audit.DecodeLine(line)
			if err != nil {
				yield(nil, fmt.Errorf("sqlsink: row seq=%d: %w", seq, err))
				return
			}
			if !f.Match(r) {
				continue
			}
			if !yield(r, nil) {
				return
			}
			if n++; f.Limit > 0 && n >= f.Limit {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, fmt.Errorf("sqlsink: query: %w", err))
		}
	}
}
