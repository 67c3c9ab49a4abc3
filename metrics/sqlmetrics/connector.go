package sqlmetrics

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
)

// NewConnector wraps c so that every operation on its connections is
// measured. Use it with sql.OpenDB, or use [OpenDB], which also observes
// the pool.
func NewConnector(c driver.Connector, cfg Config) (driver.Connector, error) {
	if c == nil {
		return nil, errors.New("sqlmetrics: NewConnector: the connector is nil")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	rec, err := newRecorder(cfg)
	if err != nil {
		return nil, err
	}
	return &connector{base: c, rec: rec}, nil
}

// DB is a *sql.DB whose operations and pool are measured. Close closes the
// pool and stops observing it.
type DB struct {
	*sql.DB
	pool *poolObserver
}

// Close stops the pool metrics and closes the database (sql.DB.Close).
func (db *DB) Close() error {
	perr := db.pool.close()
	return errors.Join(db.DB.Close(), perr)
}

// Open is sql.Open for a registered driver (driverName "pgx", "mysql",
// "sqlite", ...), with its connections measured and its pool observed.
// Like sql.Open it does not connect; call PingContext to check the DSN.
func Open(driverName, dsn string, cfg Config) (*DB, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// sql.Open is the one way to reach a registered driver by name; the
	// pool it returns is only used for that and closed at once (it has
	// opened no connection).
	probe, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlmetrics: %w", err)
	}
	d := probe.Driver()
	_ = probe.Close()
	var c driver.Connector
	if dc, ok := d.(driver.DriverContext); ok {
		if c, err = dc.OpenConnector(dsn); err != nil {
			return nil, fmt.Errorf("sqlmetrics: %s: %w", driverName, err)
		}
	} else {
		c = dsnConnector{dsn: dsn, driver: d}
	}
	return OpenDB(c, cfg)
}

// OpenDB is sql.OpenDB with c's connections measured and the pool
// observed.
func OpenDB(c driver.Connector, cfg Config) (*DB, error) {
	wrapped, err := NewConnector(c, cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(wrapped)
	pool, err := observePool(db, cfg)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return &DB{DB: db, pool: pool}, nil
}

// dsnConnector is database/sql's own fallback for a driver without
// DriverContext: every Connect opens the DSN.
type dsnConnector struct {
	dsn    string
	driver driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.driver.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.driver }

type connector struct {
	base driver.Connector
	rec  *recorder
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newConn(conn, c.rec), nil
}

// Driver returns the wrapped connector's driver. database/sql opens
// connections through Connect, never through this driver.
func (c *connector) Driver() driver.Driver { return c.base.Driver() }

// Close closes the wrapped connector if it is an io.Closer, as sql.DB.Close
// would have.
func (c *connector) Close() error {
	if cl, ok := c.base.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// Unwrap returns the driver's own connection, statement, rows or
// transaction behind a value this package wrapped, and any other value
// unchanged. Use it in sql.Conn.Raw to reach a driver's own API:
//
//	conn.Raw(func(dc any) error { pgxConn := sqlmetrics.Unwrap(dc).(*stdlib.Conn); ... })
func Unwrap(v any) any {
	switch w := v.(type) {
	case *conn:
		return w.base
	case *stmt:
		return w.base
	case *stmtColumnConverter:
		return w.base
	case *tx:
		return w.base
	}
	if r, ok := v.(interface{ unwrapRows() driver.Rows }); ok {
		return r.unwrapRows()
	}
	return v
}
