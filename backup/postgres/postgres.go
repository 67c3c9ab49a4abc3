package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/internal/tool"
)

// Config configures a Driver.
type Config struct {
	// DSN is a postgres:// URL. It may carry a password (in the user
	// info or a password parameter); the driver keeps it out of argv.
	DSN string
	// PgDump and PgRestore are the programs; default "pg_dump" and
	// "pg_restore" from PATH.
	PgDump, PgRestore string
	// NoOwner restores without setting ownership or privileges
	// (--no-owner --no-privileges), for a target with other roles.
	NoOwner bool
}

// Driver dumps and restores one PostgreSQL database.
type Driver struct {
	cfg         Config
	conn        *url.URL // DSN without password and sslpassword: what the tools see
	password    string   // from the DSN; empty if it has none
	sslPassword string   // the client key's passphrase (sslpassword), if any
	full        string   // DSN with the secrets, for pgx only (in this process)
}

// New validates cfg.
func New(cfg Config) (*Driver, error) {
	u, err := url.Parse(cfg.DSN)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return nil, errors.New("postgres: Config.DSN must be a postgres:// URL with a host")
	}
	if len(u.Path) < 2 {
		return nil, errors.New("postgres: Config.DSN must name a database")
	}
	if cfg.PgDump == "" {
		cfg.PgDump = "pg_dump"
	}
	if cfg.PgRestore == "" {
		cfg.PgRestore = "pg_restore"
	}
	d := &Driver{cfg: cfg, full: cfg.DSN}
	c := *u
	if pw, ok := u.User.Password(); ok {
		d.password = pw
		c.User = url.User(u.User.Username())
	}
	if err := d.takeSecretParams(&c); err != nil {
		return nil, err
	}
	d.conn = &c
	return d, nil
}

// Driver returns "postgres".
func (d *Driver) Driver() string { return "postgres" }

// Name returns the DSN without password or query.
func (d *Driver) Name() string {
	c := *d.conn
	c.RawQuery = ""
	return c.String()
}

// SourceIdentity returns the server's host (lowercase) and port (5432 by
// default) and the database name: not the user, whose backup of the same
// database is the same database.
func (d *Driver) SourceIdentity() backup.SourceIdentity {
	id := backup.SourceIdentity{Driver: "postgres", Host: strings.ToLower(d.conn.Host), Database: strings.TrimPrefix(d.conn.Path, "/")}
	if strings.Contains(d.conn.Host, ",") {
		return id // several hosts: kept as written
	}
	id.Host = strings.ToLower(d.conn.Hostname())
	id.Port = 5432
	if p, err := strconv.Atoi(d.conn.Port()); err == nil {
		id.Port = p
	}
	return id
}

var versionRE = regexp.MustCompile(`(\d+)(?:\.(\d+))?`)

// majorOf extracts the major version from "pg_dump (PostgreSQL) 15.20 (Debian …)".
func majorOf(s string) (int, string, error) {
	if i := strings.Index(s, ")"); i >= 0 && strings.HasPrefix(s, "pg_") {
		s = s[i+1:]
	}
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return 0, "", fmt.Errorf("postgres: no version in %q", s)
	}
	n, _ := strconv.Atoi(m[1])
	return n, m[0], nil
}

func (d *Driver) connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect to %s: %w", d.Name(), scrub(scrub(err, d.password), d.sslPassword))
	}
	return c, nil
}

// scrub removes the password from an error text, in case a library echoes it.
func scrub(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "[REDACTED]"))
}

// versions checks that pg_dump is not older than the server.
func (d *Driver) versions(ctx context.Context) (map[string]string, error) {
	out, err := tool.Output(ctx, d.cfg.PgDump, []string{"--version"}, tool.Env(allowToolEnv))
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	clientMajor, clientVer, err := majorOf(out)
	if err != nil {
		return nil, err
	}
	c, err := d.connect(ctx, d.full)
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Close(context.WithoutCancel(ctx)) }()
	var serverVer string
	if err := c.QueryRow(ctx, "SHOW server_version").Scan(&serverVer); err != nil {
		return nil, fmt.Errorf("postgres: server version: %w", err)
	}
	serverMajor, serverShort, err := majorOf(serverVer)
	if err != nil {
		return nil, err
	}
	if clientMajor < serverMajor {
		return nil, fmt.Errorf("%w: pg_dump %s cannot dump PostgreSQL server %s; install the client of version %d or later",
			backup.ErrToolVersion, clientVer, serverShort, serverMajor)
	}
	return map[string]string{"pg_dump": clientVer, "server": serverShort}, nil
}

// Dump runs pg_dump --format=custom --compress=0 (Keel compresses) and
// streams its output to w.
func (d *Driver) Dump(ctx context.Context, w io.Writer) (map[string]string, error) {
	tools, err := d.versions(ctx)
	if err != nil {
		return nil, err
	}
	s, err := d.newSession(d.conn)
	if err != nil {
		return nil, err
	}
	defer s.close()
	err = tool.Run(ctx, tool.Command{
		Path:   d.cfg.PgDump,
		Args:   []string{"--format=custom", "--compress=0", "--no-password", s.connArg},
		Env:    s.env,
		Stdout: w,
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return tools, nil
}

// Empty reports whether the database has no tables, views, sequences or
// functions outside the system schemas.
func (d *Driver) Empty(ctx context.Context) (bool, error) {
	return d.emptyAt(ctx, d.full)
}

func (d *Driver) emptyAt(ctx context.Context, dsn string) (bool, error) {
	c, err := d.connect(ctx, dsn)
	if err != nil {
		return false, err
	}
	defer func() { _ = c.Close(context.WithoutCancel(ctx)) }()
	var n int
	err = c.QueryRow(ctx, `SELECT
	  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
	      AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f'))
	+ (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema'))`).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("postgres: inspect %s: %w", d.Name(), err)
	}
	return n == 0, nil
}

// Restore runs pg_restore with the dump on its standard input, in a
// single transaction.
func (d *Driver) Restore(ctx context.Context, r io.Reader, replace bool) error {
	return d.restoreInto(ctx, d.conn, r, replace)
}

func (d *Driver) restoreInto(ctx context.Context, conn *url.URL, r io.Reader, replace bool) error {
	s, err := d.newSession(conn)
	if err != nil {
		return err
	}
	defer s.close()
	args := []string{"--no-password", "--exit-on-error", "--single-transaction", s.connArg}
	if replace {
		args = append(args, "--clean", "--if-exists")
	}
	if d.cfg.NoOwner {
		args = append(args, "--no-owner", "--no-privileges")
	}
	if err := tool.Run(ctx, tool.Command{Path: d.cfg.PgRestore, Args: args, Env: s.env, Stdin: r}); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// TrialRestore creates a scratch database on the same server (the DSN's
// role needs CREATEDB), restores into it, runs sanityQuery and drops it.
func (d *Driver) TrialRestore(ctx context.Context, r io.Reader, sanityQuery string) (detail string, err error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	scratch := "keel_verify_" + hex.EncodeToString(b[:])
	admin, err := d.connect(ctx, d.full)
	if err != nil {
		return "", err
	}
	defer func() { _ = admin.Close(context.WithoutCancel(ctx)) }()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+scratch); err != nil {
		return "", fmt.Errorf("postgres: create scratch database: %w", err)
	}
	defer func() {
		_, derr := admin.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+scratch+" WITH (FORCE)")
		if derr != nil && err == nil {
			err = fmt.Errorf("postgres: drop scratch database %s: %w", scratch, derr)
		}
	}()
	conn := *d.conn
	conn.Path = "/" + scratch
	full, _ := url.Parse(d.full)
	full.Path = "/" + scratch
	if err := d.restoreInto(ctx, &conn, r, false); err != nil {
		return "", err
	}
	if sanityQuery == "" {
		return "", nil
	}
	c, err := d.connect(ctx, full.String())
	if err != nil {
		return "", err
	}
	defer func() { _ = c.Close(context.WithoutCancel(ctx)) }()
	rows, err := c.Query(ctx, sanityQuery)
	if err != nil {
		return "", fmt.Errorf("postgres: sanity query: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return "", fmt.Errorf("postgres: sanity query: %w", err)
		}
		return "", errors.New("postgres: sanity query returned no row")
	}
	vals, err := rows.Values()
	if err != nil {
		return "", fmt.Errorf("postgres: sanity query: %w", err)
	}
	if len(vals) > 0 {
		detail = fmt.Sprint(vals[0])
	}
	rows.Close()
	return detail, rows.Err()
}

var (
	_ backup.Source           = (*Driver)(nil)
	_ backup.Target           = (*Driver)(nil)
	_ backup.TrialTarget      = (*Driver)(nil)
	_ backup.SourceIdentifier = (*Driver)(nil)
)
