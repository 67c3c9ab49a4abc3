package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/keel-go/keel/audit"
	"github.com/keel-go/keel/audit/sqlsink"
)

// auditWitness is the -witness flags of verify.
type auditWitness struct {
	file, driver, dsnEnv, table, name string
}

func (w *auditWitness) flags(fs *flag.FlagSet) {
	fs.StringVar(&w.file, "witness", "", "file witness of the log (its writer's FileWitness): the log must reach the checkpoint it holds")
	fs.StringVar(&w.driver, "witness-driver", "", "SQL witness instead: postgres, mysql or sqlite (DSN read from the variable named by -witness-dsn-env)")
	fs.StringVar(&w.dsnEnv, "witness-dsn-env", "KEEL_WITNESS_DSN", "environment variable holding the SQL witness's DSN")
	fs.StringVar(&w.table, "witness-table", sqlsink.DefaultWitnessTable, "SQL witness table")
	fs.StringVar(&w.name, "witness-name", "", "the witnessed log's name in the SQL witness table (required with -witness-driver)")
}

// open returns the witness (nil when no flag asks for one) and a function
// that releases it. set says which flags were given on the command line.
func (w *auditWitness) open(set map[string]bool) (audit.Witness, func(), error) {
	if w.driver == "" {
		for _, f := range []string{"witness-name", "witness-table", "witness-dsn-env"} {
			if set[f] {
				// Without -witness-driver these would be ignored, and a
				// rolled-back log reported as fine.
				return nil, nil, fmt.Errorf("-%s needs -witness-driver (the SQL witness); for a file witness give -witness FILE", f)
			}
		}
	}
	switch {
	case w.file != "" && w.driver != "":
		return nil, nil, errors.New("give -witness or -witness-driver, not both")
	case w.file != "":
		fw, err := audit.NewFileWitness(w.file)
		if err != nil {
			return nil, nil, fmt.Errorf("-witness: %w", err)
		}
		return fw, func() {}, nil
	case w.driver != "":
		if w.name == "" {
			return nil, nil, errors.New("-witness-name is required with -witness-driver: it names the log in the witness table")
		}
		if !sqlIdentifier.MatchString(w.table) {
			return nil, nil, fmt.Errorf("-witness-table must be letters, digits and underscores (at most 63), got %q", w.table)
		}
		db, dialect, err := openSQL("-witness-driver", w.driver, "-witness-dsn-env", w.dsnEnv)
		if err != nil {
			return nil, nil, err
		}
		sw, err := sqlsink.NewWitness(sqlsink.WitnessConfig{DB: db, Dialect: dialect, Table: w.table, Name: w.name})
		if err != nil {
			_ = db.Close()
			return nil, nil, err
		}
		return sw, func() { _ = db.Close() }, nil
	}
	return nil, func() {}, nil
}

// openSQL opens a database named by a driver flag and a DSN variable.
func openSQL(driverFlag, driver, dsnFlag, dsnEnv string) (*sql.DB, sqlsink.Dialect, error) {
	drivers := map[string]struct {
		name    string
		dialect sqlsink.Dialect
	}{"postgres": {"pgx", sqlsink.Postgres}, "mysql": {"mysql", sqlsink.MySQL}, "sqlite": {"sqlite", sqlsink.SQLite}}
	d, ok := drivers[driver]
	if !ok {
		return nil, 0, fmt.Errorf("%s must be postgres, mysql or sqlite, got %q", driverFlag, driver)
	}
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		return nil, 0, fmt.Errorf("environment variable %s (%s) is empty: it must hold the DSN", dsnEnv, dsnFlag)
	}
	if driver == "sqlite" {
		dsn = readOnlySQLite(dsn)
	}
	db, err := sql.Open(d.name, dsn)
	if err != nil {
		return nil, 0, fmt.Errorf("open database: %w", err)
	}
	return db, d.dialect, nil
}

// sqlIdentifier is what sqlsink accepts as a table name, checked here so
// that the error names the flag.
var sqlIdentifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// readOnlySQLite opens a SQLite database read-only: reading a log or a
// witness never writes, and a DSN naming a missing file must not create it.
func readOnlySQLite(dsn string) string {
	if strings.Contains(dsn, "mode=") {
		return dsn
	}
	if !strings.HasPrefix(dsn, "file:") {
		dsn = "file:" + dsn
	}
	if strings.Contains(dsn, "?") {
		return dsn + "&mode=ro"
	}
	return dsn + "?mode=ro"
}

func auditVerify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keel audit verify", flag.ContinueOnError)
	var src auditSource
	src.flags(fs)
	var wit auditWitness
	wit.flags(fs)
	var keyFiles multiFlag
	fs.Var(&keyFiles, "pubkey", "Ed25519 public key file (PEM or base64); repeat for rotated keys (required)")
	live := fs.Bool("live", false, "the writer may still be running: accept records after the last checkpoint and a torn last line")
	fromStart := fs.Bool("from-start", false, "require the log to start at seq 1 (no retention has removed old segments)")
	state := fs.String("state", "", "file keeping the last verified checkpoint: verify only what follows it, then move it forward")
	workers := fs.Int("workers", 0, "segments verified at once (0: one per CPU)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parseArgs(fs, args, stderr); err != nil {
		return err
	}
	if len(keyFiles) == 0 {
		fmt.Fprintln(stderr, "keel audit verify: -pubkey is required")
		fs.Usage()
		return errUsage
	}
	if *workers < 0 {
		return fmt.Errorf("-workers must not be negative, got %d", *workers)
	}
	keys, err := readPublicKeys(keyFiles)
	if err != nil {
		return err
	}
	opts := audit.VerifyOptions{PublicKeys: keys, Live: *live, FromStart: *fromStart, Workers: *workers}
	if *state != "" {
		if fi, err := os.Stat(filepath.Dir(*state)); err != nil || !fi.IsDir() {
			return fmt.Errorf("-state %s: its directory must exist, to keep the mark in", *state)
		}
		if opts.Resume, err = readVerifyState(*state); err != nil {
			return err
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	witness, releaseWitness, err := wit.open(set)
	if err != nil {
		return err
	}
	defer releaseWitness()
	if witness != nil {
		head, err := witness.Head(context.Background())
		if err != nil {
			return fmt.Errorf("read the witness: %w", err)
		}
		if head.IsZero() {
			return errors.New("the witness holds nothing (no checkpoint was ever published to it): check -witness, or -witness-name and -witness-table")
		}
		opts.Witness = witness
	}
	source, release, err := src.open()
	if err != nil {
		return err
	}
	defer release()

	start := time.Now()
	rep, verr := audit.Verify(context.Background(), source, opts)
	verr = openLogError(verr, rep)
	elapsed := time.Since(start)
	read := rep.Records
	if opts.Resume != nil && read >= opts.Resume.Records {
		read -= opts.Resume.Records
	}
	rate := float64(read) / max(elapsed.Seconds(), 1e-9)
	if verr == nil && *state != "" && rep.Mark != nil {
		if err := writeVerifyState(*state, *rep.Mark); err != nil {
			return err
		}
	}
	if *asJSON {
		out := struct {
			audit.VerifyReport
			OK            bool    `json:"ok"`
			Error         string  `json:"error,omitempty"`
			RecordsRead   uint64  `json:"records_read"`
			Seconds       float64 `json:"seconds"`
			RecordsPerSec float64 `json:"records_per_second"`
		}{VerifyReport: rep, OK: verr == nil, RecordsRead: read, Seconds: elapsed.Seconds(), RecordsPerSec: rate}
		if verr != nil {
			out.Error = verr.Error()
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
		return verr
	}
	if verr != nil {
		return verr
	}
	fmt.Fprintf(stdout, "OK: log %s, records %d..%d: %d events, %d checkpoints, %d gaps (%d events dropped), %d crash recoveries, %d accepted rollbacks",
		rep.LogID, rep.FirstSeq, rep.LastSeq, rep.Events, rep.Checkpoints, rep.Gaps, rep.Dropped, rep.Recoveries, rep.Rollbacks)
	if rep.Unsealed > 0 || rep.TornTail {
		fmt.Fprintf(stdout, "; %d records after the last checkpoint, torn tail %t", rep.Unsealed, rep.TornTail)
	}
	if rep.FirstSeq > 1 {
		fmt.Fprintf(stdout, "; records before %d were removed by retention", rep.FirstSeq)
	}
	fmt.Fprintln(stdout)
	switch {
	case rep.Witness.IsZero():
	case rep.WitnessMatched:
		fmt.Fprintf(stdout, "witness: the log holds the witnessed checkpoint %d (%s)\n", rep.Witness.Seq, rep.Witness.Time.Format(time.RFC3339))
	default:
		fmt.Fprintf(stdout, "witness: the log reaches past the witnessed checkpoint %d, which is before the records read (not compared)\n", rep.Witness.Seq)
	}
	if rep.ResumedAfter > 0 {
		fmt.Fprintf(stdout, "resumed after checkpoint %d (-state %s): records up to it were verified before and not read again\n", rep.ResumedAfter, *state)
	}
	fmt.Fprintf(stdout, "read %d records in %.2f s: %.0f records/s\n", read, elapsed.Seconds(), rate)
	return nil
}

func readPublicKeys(files []string) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("-pubkey: %w", err)
		}
		k, err := audit.ParsePublicKey(data)
		if err != nil {
			return nil, fmt.Errorf("-pubkey %s: %w", f, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// readVerifyState reads the -state file; a missing file means a first,
// full verification.
func readVerifyState(path string) (*audit.Mark, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("-state: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("-state: %w", err)
	}
	m, _, err := audit.ParseMark(data)
	if err != nil {
		return nil, fmt.Errorf("-state %s: %w (remove it to verify from the start)", path, err)
	}
	return &m, nil
}

// writeVerifyState replaces the -state file atomically.
func writeVerifyState(path string, m audit.Mark) error {
	data, err := audit.MarshalMark(m, time.Now())
	if err != nil {
		return err
	}
	var suffix [8]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-"+hex.EncodeToString(suffix[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("-state: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("-state: %w", err)
	}
	return nil
}

// openLogError rewrites the error of a log that is sound but not closed —
// records after its last checkpoint, a torn last line, or a last
// checkpoint other than "close" — into what an operator does about it.
// A service's log is always in that state while the service runs, and the
// library's wording (truncated, VerifyOptions.Live) reads like tampering
// to someone who only ran the service.
func openLogError(err error, rep audit.VerifyReport) error {
	var ve *audit.VerifyError
	if !errors.Is(err, audit.ErrTruncated) || !errors.As(err, &ve) || rep.Records == 0 || rep.LastSeq == 0 {
		return err
	}
	var state string
	switch {
	case rep.TornTail:
		state = fmt.Sprintf("its last line (record %d) is a write cut short", ve.Seq)
	case rep.Unsealed > 0 && rep.LastCheckpointSeq == 0:
		state = fmt.Sprintf("it ends at record %d and holds no signed checkpoint yet", rep.LastSeq)
	case rep.Unsealed > 0:
		state = fmt.Sprintf("it ends at record %d, %d record(s) after its last signed checkpoint (record %d)", rep.LastSeq, rep.Unsealed, rep.LastCheckpointSeq)
	case !rep.Closed:
		state = fmt.Sprintf("its last record (%d) is a checkpoint, but not the \"close\" checkpoint a clean shutdown writes", rep.LastSeq)
	default:
		return err
	}
	where := ""
	if ve.Where != "" {
		where = " (" + ve.Where + ")"
	}
	return fmt.Errorf("the log is not closed: %s%s. "+
		"Every record up to there verified. A log looks like this while its service is running: if it is, verify with -live. "+
		"If the service is stopped, it crashed or was killed: start it and stop it cleanly (that seals the log), then verify again. "+
		"If neither, records after the last checkpoint may have been cut off", state, where)
}
