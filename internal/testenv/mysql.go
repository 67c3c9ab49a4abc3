package testenv

import (
	"context"
	"database/sql"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// MySQLEnv names the variable that overrides the MySQL/MariaDB DSN.
const MySQLEnv = "KEEL_TEST_MYSQL_DSN"

// DefaultMySQLDSN is where the local MariaDB/MySQL is looked for.
const DefaultMySQLDSN = "root@tcp(127.0.0.1:3306)/test"

// MySQL is a MariaDB/MySQL database owned by one test.
type MySQL struct {
	// DB is connected to the test's database.
	DB *sql.DB
	// DSN connects to the test's database (database/sql driver name "mysql",
	// with parseTime=true).
	DSN string
	// Config is the parsed DSN, for tools that take host, port and user apart.
	Config *mysql.Config
	// Database is the database created for the test.
	Database string
}

// MySQLDatabase gives tb a fresh database on the configured MariaDB/MySQL
// server. It is dropped when tb ends.
func MySQLDatabase(tb testing.TB) *MySQL {
	tb.Helper()
	cfg, err := mysql.ParseDSN(envOr(MySQLEnv, DefaultMySQLDSN))
	if err != nil {
		tb.Fatalf("testenv: %s is not a valid MySQL DSN: %v", MySQLEnv, err)
	}
	cfg.ParseTime = true
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
		err = admin.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if admin != nil {
			_ = admin.Close()
		}
		unavailable(tb, "MySQL/MariaDB", cfg.Addr, MySQLEnv, err)
		return nil
	}
	tb.Cleanup(func() { _ = admin.Close() })

	name := namespace(tb)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		tb.Fatalf("testenv: MySQL: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
			tb.Errorf("testenv: MySQL: drop database %s: %v", name, err)
		}
	})
	cfg.DBName = name
	dsn := cfg.FormatDSN()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		tb.Fatalf("testenv: MySQL: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return &MySQL{DB: db, DSN: dsn, Config: cfg, Database: name}
}
