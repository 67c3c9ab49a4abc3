package sqlmetrics

import (
	"context"
	"database/sql/driver"
	"errors"
)

// conn wraps a driver connection. It implements every optional interface
// database/sql looks for, and answers for a missing one exactly as
// database/sql would have without the wrapper: ErrSkip where database/sql
// then falls back (ExecerContext, QueryerContext, NamedValueChecker), the
// legacy method where there is one (Prepare, Begin), success otherwise
// (Pinger, SessionResetter, Validator).
type conn struct {
	base driver.Conn
	rec  *recorder

	// lastQuery and lastStatement remember the connection's last query
	// text: a connection is used by one goroutine at a time, so this
	// lookup needs no lock, and a loop or a hot endpoint that runs one
	// statement again and again compares two strings (equal pointers, in
	// the usual case of a constant) instead of hashing the text into the
	// shared cache under its lock.
	lastQuery     string
	lastStatement *statement

	// spareRows and spareScanners are the connection's closed result-set
	// wrappers, reused by its next queries (see spare).
	spareRows     spare[rows]
	spareScanners scannerSpare

	execer    driver.ExecerContext
	queryer   driver.QueryerContext
	preparer  driver.ConnPrepareContext
	beginner  driver.ConnBeginTx
	pinger    driver.Pinger
	resetter  driver.SessionResetter
	validator driver.Validator
	checker   driver.NamedValueChecker
}

func newConn(base driver.Conn, rec *recorder) *conn {
	c := &conn{base: base, rec: rec}
	c.execer, _ = base.(driver.ExecerContext)
	c.queryer, _ = base.(driver.QueryerContext)
	c.preparer, _ = base.(driver.ConnPrepareContext)
	c.beginner, _ = base.(driver.ConnBeginTx)
	c.pinger, _ = base.(driver.Pinger)
	c.resetter, _ = base.(driver.SessionResetter)
	c.validator, _ = base.(driver.Validator)
	c.checker, _ = base.(driver.NamedValueChecker)
	return c
}

var (
	_ driver.Conn               = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
)

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.execer == nil {
		return nil, driver.ErrSkip
	}
	start := now()
	res, err := c.execer.ExecContext(ctx, query, args)
	if errors.Is(err, driver.ErrSkip) {
		// Not done: database/sql prepares the statement and executes it,
		// and that execution is recorded.
		return res, err
	}
	c.rec.done(ctx, c.statement(query), start, rowsUnknown, res, err)
	return res, err
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.queryer == nil {
		return nil, driver.ErrSkip
	}
	start := now()
	rows, err := c.queryer.QueryContext(ctx, query, args)
	if errors.Is(err, driver.ErrSkip) {
		return rows, err
	}
	st := c.statement(query)
	if err != nil {
		c.rec.done(ctx, st, start, rowsUnknown, nil, err)
		return nil, err
	}
	return c.newRows(ctx, rows, st, start), nil
}

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext prepares on the driver and wraps the statement, so that
// its executions are recorded. The preparation itself is not an operation
// of the metric: it is part of whatever runs the statement.
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var (
		s   driver.Stmt
		err error
	)
	if c.preparer != nil {
		s, err = c.preparer.PrepareContext(ctx, query)
	} else {
		// database/sql's own fallback: the legacy Prepare, abandoned if
		// ctx ends first.
		s, err = c.base.Prepare(query)
		if err == nil {
			select {
			case <-ctx.Done():
				_ = s.Close()
				return nil, ctx.Err()
			default:
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return newStmt(s, c, c.statement(query)), nil
}

// statement returns what is known about query, from the connection's last
// query or the shared cache.
func (c *conn) statement(query string) *statement {
	if c.lastStatement != nil && c.lastQuery == query {
		return c.lastStatement
	}
	st := c.rec.statements.get(query)
	if len(query) <= maxCachedQuery {
		// A long text is not kept: it may be a slice of a large buffer
		// that this field would keep alive as long as the connection.
		c.lastQuery, c.lastStatement = query, st
	}
	return st
}

func (c *conn) Close() error { return c.base.Close() }

// Begin is the legacy entry point; database/sql calls BeginTx.
func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	start := now()
	var (
		t   driver.Tx
		err error
	)
	if c.beginner != nil {
		t, err = c.beginner.BeginTx(ctx, opts)
	} else {
		// database/sql's own fallback for a driver without BeginTx: only
		// the default isolation level, and no read-only transactions.
		if opts.Isolation != driver.IsolationLevel(0) {
			return nil, errors.New("sql: driver does not support non-default isolation level")
		}
		if opts.ReadOnly {
			return nil, errors.New("sql: driver does not support read-only transactions")
		}
		//lint:ignore SA1019 the fallback database/sql itself uses
		t, err = c.base.Begin()
	}
	c.rec.done(ctx, c.rec.begin, start, rowsUnknown, nil, err)
	if err != nil {
		return nil, err
	}
	return &tx{base: t, rec: c.rec, ctx: ctx}, nil
}

func (c *conn) Ping(ctx context.Context) error {
	if c.pinger == nil {
		return nil
	}
	return c.pinger.Ping(ctx)
}

// ResetSession is called by database/sql when it hands the connection to a
// new user; from then on the result-set wrappers closed before can be reused.
func (c *conn) ResetSession(ctx context.Context) error {
	c.spareRows.reset()
	c.spareScanners.reset()
	if c.resetter == nil {
		return nil
	}
	return c.resetter.ResetSession(ctx)
}

func (c *conn) IsValid() bool {
	if c.validator == nil {
		return true
	}
	return c.validator.IsValid()
}

func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if c.checker == nil {
		return driver.ErrSkip
	}
	return c.checker.CheckNamedValue(nv)
}

// tx wraps a transaction so that COMMIT and ROLLBACK are recorded.
type tx struct {
	base driver.Tx
	rec  *recorder
	// ctx is the context of BeginTx: Commit and Rollback take none, and
	// their records belong to the same request.
	ctx context.Context
}

func (t *tx) Commit() error {
	start := now()
	err := t.base.Commit()
	t.rec.done(t.ctx, t.rec.commit, start, rowsUnknown, nil, err)
	return err
}

func (t *tx) Rollback() error {
	start := now()
	err := t.base.Rollback()
	t.rec.done(t.ctx, t.rec.rollback, start, rowsUnknown, nil, err)
	return err
}
