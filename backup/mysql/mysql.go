package mysql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/keel-go/keel/backup"
	"github.com/keel-go/keel/backup/internal/tool"
)

// Config configures a Driver.
type Config struct {
	// DSN is a go-sql-driver/mysql DSN ("user:password@tcp(host:3306)/db").
	// It must name a database.
	DSN string
	// Dump and Client are the programs; default mariadb-dump and mariadb,
	// falling back to mysqldump and mysql.
	Dump, Client string
}

// Driver dumps and restores one MySQL/MariaDB database.
type Driver struct {
	cfg  Config
	conn *gomysql.Config
}

// New validates cfg and finds the tools.
func New(cfg Config) (*Driver, error) {
	c, err := gomysql.ParseDSN(cfg.DSN)
	if err != nil {
		return nil, errors.New("mysql: Config.DSN is not a valid DSN")
	}
	if c.DBName == "" {
		return nil, errors.New("mysql: Config.DSN must name a database")
	}
	if cfg.Dump == "" {
		cfg.Dump = firstInPath("mariadb-dump", "mysqldump")
	}
	if cfg.Client == "" {
		cfg.Client = firstInPath("mariadb", "mysql")
	}
	return &Driver{cfg: cfg, conn: c}, nil
}

func firstInPath(names ...string) string {
	for _, n := range names {
		if _, err := exec.LookPath(n); err == nil {
			return n
		}
	}
	return names[0]
}

// Driver returns "mysql".
func (d *Driver) Driver() string { return "mysql" }

// Name returns user@address/database, without the password.
func (d *Driver) Name() string {
	return fmt.Sprintf("mysql://%s@%s/%s", d.conn.User, d.conn.Addr, d.conn.DBName)
}

// SourceIdentity returns the server's host (lowercase) and port (3306 by
// default), or its socket path, and the database name; not the user.
func (d *Driver) SourceIdentity() backup.SourceIdentity {
	id := backup.SourceIdentity{Driver: "mysql", Host: d.conn.Addr, Database: d.conn.DBName}
	if d.conn.Net == "unix" {
		return id
	}
	host, port, err := net.SplitHostPort(d.conn.Addr)
	if err != nil {
		host, port = d.conn.Addr, "3306"
	}
	id.Host = strings.ToLower(host)
	id.Port, _ = strconv.Atoi(port)
	return id
}

// toolEnv is the tools' environment: the basics (tool.Env) and
// MYSQL_HOME, a directory. Nothing else of this process's environment —
// MYSQL_PWD, a service's API keys or database URL — reaches them.
func toolEnv() []string { return tool.Env(func(n string) bool { return n == "MYSQL_HOME" }) }

// optionEscape escapes a value for a double-quoted option file value.
var optionEscape = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`)

// connArgs returns the non-secret connection arguments and a cleanup for
// the defaults file holding the password (first argument, as the tools
// require): a 0600 file in a private directory, never argv or the
// environment, which /proc shows to other processes.
func (d *Driver) connArgs(cfg *gomysql.Config) ([]string, func(), error) {
	var args []string
	cleanup := func() {}
	if cfg.Passwd != "" {
		dir, err := tool.NewSecretDir("keel-mysql-")
		if err != nil {
			return nil, nil, fmt.Errorf("mysql: %w", err)
		}
		cleanup = func() { _ = dir.Remove() }
		f, err := dir.Write("client.cnf", []byte("[client]\npassword=\""+optionEscape.Replace(cfg.Passwd)+"\"\n"))
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("mysql: %w", err)
		}
		args = append(args, "--defaults-extra-file="+f)
	}
	switch cfg.Net {
	case "unix":
		args = append(args, "--socket="+cfg.Addr)
	default:
		host, port, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			host, port = cfg.Addr, "3306"
		}
		args = append(args, "--protocol=TCP", "--host="+host, "--port="+port)
	}
	if cfg.User != "" {
		args = append(args, "--user="+cfg.User)
	}
	return args, cleanup, nil
}

func (d *Driver) open(ctx context.Context, cfg *gomysql.Config) (*sql.DB, error) {
	connector, err := gomysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql: %w", err)
	}
	db := sql.OpenDB(connector)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("mysql: connect to %s: %w", d.Name(), err)
	}
	return db, nil
}

// Dump streams a consistent dump of the database to w.
func (d *Driver) Dump(ctx context.Context, w io.Writer) (map[string]string, error) {
	tools := map[string]string{}
	if v, err := tool.Output(ctx, d.cfg.Dump, []string{"--version"}, toolEnv()); err == nil {
		tools[filepath.Base(d.cfg.Dump)] = v
	} else {
		return nil, fmt.Errorf("mysql: %w", err)
	}
	db, err := d.open(ctx, d.conn)
	if err != nil {
		return nil, err
	}
	var server string
	err = db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&server)
	_ = db.Close()
	if err != nil {
		return nil, fmt.Errorf("mysql: server version: %w", err)
	}
	tools["server"] = server

	args, cleanup, err := d.connArgs(d.conn)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	args = append(args, "--single-transaction", "--routines", "--triggers", "--events",
		"--hex-blob", "--no-tablespaces", "--default-character-set=utf8mb4", "--skip-dump-date", "--", d.conn.DBName)
	if err := tool.Run(ctx, tool.Command{Path: d.cfg.Dump, Args: args, Env: toolEnv(), Stdout: w}); err != nil {
		return nil, fmt.Errorf("mysql: %w", err)
	}
	return tools, nil
}

// Empty reports whether the database has no tables, views or routines.
func (d *Driver) Empty(ctx context.Context) (bool, error) {
	db, err := d.open(ctx, d.conn)
	if err != nil {
		return false, err
	}
	defer func() { _ = db.Close() }()
	var n int
	err = db.QueryRowContext(ctx, `SELECT
	  (SELECT count(*) FROM information_schema.tables WHERE table_schema = ?)
	+ (SELECT count(*) FROM information_schema.routines WHERE routine_schema = ?)`, d.conn.DBName, d.conn.DBName).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("mysql: inspect %s: %w", d.Name(), err)
	}
	return n == 0, nil
}

// Restore feeds the dump to the client. The dump drops and recreates each
// table it holds, so replace needs no extra step.
func (d *Driver) Restore(ctx context.Context, r io.Reader, _ bool) error {
	return d.restoreInto(ctx, d.conn.DBName, r)
}

func (d *Driver) restoreInto(ctx context.Context, dbName string, r io.Reader) error {
	args, cleanup, err := d.connArgs(d.conn)
	if err != nil {
		return err
	}
	defer cleanup()
	args = append(args, "--default-character-set=utf8mb4", "--batch", "--database="+dbName)
	if err := tool.Run(ctx, tool.Command{Path: d.cfg.Client, Args: args, Env: toolEnv(), Stdin: r}); err != nil {
		return fmt.Errorf("mysql: %w", err)
	}
	return nil
}

// TrialRestore restores into a scratch database on the same server (the
// user needs CREATE and DROP), runs sanityQuery there and drops it.
func (d *Driver) TrialRestore(ctx context.Context, r io.Reader, sanityQuery string) (detail string, err error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	scratch := "keel_verify_" + hex.EncodeToString(b[:])
	db, err := d.open(ctx, d.conn)
	if err != nil {
		return "", err
	}
	defer func() { _ = db.Close() }()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+scratch); err != nil {
		return "", fmt.Errorf("mysql: create scratch database: %w", err)
	}
	defer func() {
		if _, derr := db.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+scratch); derr != nil && err == nil {
			err = fmt.Errorf("mysql: drop scratch database %s: %w", scratch, derr)
		}
	}()
	if err := d.restoreInto(ctx, scratch, r); err != nil {
		return "", err
	}
	if sanityQuery == "" {
		return "", nil
	}
	cfg := d.conn.Clone()
	cfg.DBName = scratch
	sdb, err := d.open(ctx, cfg)
	if err != nil {
		return "", err
	}
	defer func() { _ = sdb.Close() }()
	var v sql.NullString
	if err := sdb.QueryRowContext(ctx, sanityQuery).Scan(&v); err != nil {
		return "", fmt.Errorf("mysql: sanity query: %w", err)
	}
	return v.String, nil
}

var (
	_ backup.Source           = (*Driver)(nil)
	_ backup.Target           = (*Driver)(nil)
	_ backup.TrialTarget      = (*Driver)(nil)
	_ backup.SourceIdentifier = (*Driver)(nil)
)
