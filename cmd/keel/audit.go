package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	_ "github.com/go-sql-driver/mysql" // "mysql" database/sql driver
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" database/sql driver
	_ "modernc.org/sqlite"             // "sqlite" database/sql driver

	"github.com/keel-go/keel/audit"
	"github.com/keel-go/keel/audit/sqlsink"
)

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// auditSource is the -dir / -driver flags shared by verify and query.
type auditSource struct {
	dir, driver, dsnEnv, table string
}

func (s *auditSource) flags(fs *flag.FlagSet) {
	fs.StringVar(&s.dir, "dir", "", "directory of a file-sink log (audit-*.jsonl segments)")
	fs.StringVar(&s.driver, "driver", "", "SQL-sink log: postgres, mysql or sqlite (DSN read from the variable named by -dsn-env)")
	fs.StringVar(&s.dsnEnv, "dsn-env", "KEEL_AUDIT_DSN", "environment variable holding the SQL DSN (never pass secrets as arguments)")
	fs.StringVar(&s.table, "table", sqlsink.DefaultTable, "SQL table of the log")
}

// open returns the source and a function that releases it.
func (s *auditSource) open() (audit.Source, func(), error) {
	switch {
	case s.dir != "" && s.driver != "":
		return nil, nil, errors.New("give -dir or -driver, not both")
	case s.dir != "":
		if _, err := os.Stat(s.dir); err != nil {
			return nil, nil, fmt.Errorf("-dir: %w", err)
		}
		return audit.DirSource(s.dir), func() {}, nil
	case s.driver != "":
		if !sqlIdentifier.MatchString(s.table) {
			return nil, nil, fmt.Errorf("-table must be letters, digits and underscores (at most 63), got %q", s.table)
		}
		db, dialect, err := openSQL("-driver", s.driver, "-dsn-env", s.dsnEnv)
		if err != nil {
			return nil, nil, err
		}
		sink, err := sqlsink.New(sqlsink.Config{DB: db, Dialect: dialect, Table: s.table})
		if err != nil {
			_ = db.Close()
			return nil, nil, err
		}
		return sink, func() { _ = db.Close() }, nil
	}
	return nil, nil, errors.New("give -dir (file sink) or -driver (SQL sink)")
}

func auditQuery(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keel audit query", flag.ContinueOnError)
	var src auditSource
	src.flags(fs)
	var f audit.Filter
	var outcome, since, until string
	fs.StringVar(&f.ActorID, "actor", "", "actor id")
	fs.StringVar(&f.Action, "action", "", "action, e.g. license.update")
	fs.StringVar(&f.ResourceType, "resource-type", "", "resource type")
	fs.StringVar(&f.ResourceID, "resource-id", "", "resource id")
	fs.StringVar(&outcome, "outcome", "", "success, failure or denied")
	fs.StringVar(&f.Tenant, "tenant", "", "tenant")
	fs.StringVar(&since, "since", "", "events at or after this RFC 3339 time")
	fs.StringVar(&until, "until", "", "events before this RFC 3339 time")
	fs.IntVar(&f.Limit, "limit", 0, "stop after this many events (0: all)")
	if err := parseArgs(fs, args, stderr); err != nil {
		return err
	}
	switch audit.Outcome(outcome) {
	case "", audit.Success, audit.Failure, audit.Denied:
		f.Outcome = audit.Outcome(outcome)
	default:
		return fmt.Errorf("-outcome must be success, failure or denied, got %q", outcome)
	}
	for _, t := range []struct {
		name, v string
		p       *time.Time
	}{{"-since", since, &f.Since}, {"-until", until, &f.Until}} {
		if t.v == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339Nano, t.v)
		if err != nil {
			return fmt.Errorf("%s must be an RFC 3339 time: %w", t.name, err)
		}
		*t.p = v
	}
	if f.Limit < 0 {
		return fmt.Errorf("-limit must not be negative, got %d", f.Limit)
	}
	source, release, err := src.open()
	if err != nil {
		return err
	}
	defer release()
	for r, err := range audit.Query(context.Background(), source, f) {
		if err != nil {
			return err
		}
		// The stored line is printed as it is: JSON, with its seq and hash,
		// so that it can be checked against the verified log.
		if _, err := stdout.Write(append(r.Line, '\n')); err != nil {
			return err
		}
	}
	return nil
}
