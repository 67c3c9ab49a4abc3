package sqlmetrics

import (
	"context"
	"database/sql/driver"
	"errors"
)

// stmt wraps a prepared statement so that its executions are recorded
// under the statement they were prepared from.
type stmt struct {
	base driver.Stmt
	conn *conn
	st   *statement

	execer  driver.StmtExecContext
	queryer driver.StmtQueryContext
	checker driver.NamedValueChecker
}

// stmtColumnConverter is a stmt whose driver statement is a (deprecated but
// still honoured) driver.ColumnConverter: database/sql looks for the
// interface on the statement, so the wrapper has it only when the driver's
// statement does.
type stmtColumnConverter struct {
	*stmt
	//lint:ignore SA1019 database/sql still honours it, so the wrapper must
	cc driver.ColumnConverter
}

func (s *stmtColumnConverter) ColumnConverter(idx int) driver.ValueConverter {
	return s.cc.ColumnConverter(idx)
}

var (
	_ driver.StmtExecContext   = (*stmt)(nil)
	_ driver.StmtQueryContext  = (*stmt)(nil)
	_ driver.NamedValueChecker = (*stmt)(nil)
	//lint:ignore SA1019 database/sql still honours it, so the wrapper must
	_ driver.ColumnConverter = (*stmtColumnConverter)(nil)
)

func newStmt(base driver.Stmt, c *conn, st *statement) driver.Stmt {
	s := &stmt{base: base, conn: c, st: st}
	s.execer, _ = base.(driver.StmtExecContext)
	s.queryer, _ = base.(driver.StmtQueryContext)
	s.checker, _ = base.(driver.NamedValueChecker)
	//lint:ignore SA1019 database/sql still honours it, so the wrapper must
	if cc, ok := base.(driver.ColumnConverter); ok {
		return &stmtColumnConverter{stmt: s, cc: cc}
	}
	return s
}

func (s *stmt) Close() error  { return s.base.Close() }
func (s *stmt) NumInput() int { return s.base.NumInput() }

// Exec and Query are the legacy entry points; database/sql calls the
// context versions.
func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), valuesToNamed(args))
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), valuesToNamed(args))
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	start := now()
	var (
		res driver.Result
		err error
	)
	if s.execer != nil {
		res, err = s.execer.ExecContext(ctx, args)
	} else {
		var values []driver.Value
		if values, err = namedToValues(args); err != nil {
			return nil, err
		}
		if err = ctx.Err(); err != nil {
			return nil, err
		}
		//lint:ignore SA1019 the fallback database/sql itself uses
		res, err = s.base.Exec(values)
	}
	s.conn.rec.done(ctx, s.st, start, rowsUnknown, res, err)
	return res, err
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	start := now()
	var (
		rows driver.Rows
		err  error
	)
	if s.queryer != nil {
		rows, err = s.queryer.QueryContext(ctx, args)
	} else {
		var values []driver.Value
		if values, err = namedToValues(args); err != nil {
			return nil, err
		}
		if err = ctx.Err(); err != nil {
			return nil, err
		}
		//lint:ignore SA1019 the fallback database/sql itself uses
		rows, err = s.base.Query(values)
	}
	if err != nil {
		s.conn.rec.done(ctx, s.st, start, rowsUnknown, nil, err)
		return nil, err
	}
	return s.conn.newRows(ctx, rows, s.st, start), nil
}

// CheckNamedValue asks the statement's checker, then the connection's, as
// database/sql does; ErrSkip when neither has one.
func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if s.checker != nil {
		return s.checker.CheckNamedValue(nv)
	}
	return s.conn.CheckNamedValue(nv)
}

// namedToValues is database/sql's conversion for a driver statement
// without the context methods: named arguments are refused.
func namedToValues(named []driver.NamedValue) ([]driver.Value, error) {
	values := make([]driver.Value, len(named))
	for i, nv := range named {
		if nv.Name != "" {
			return nil, errors.New("sql: driver does not support the use of Named Parameters")
		}
		values[i] = nv.Value
	}
	return values, nil
}

func valuesToNamed(values []driver.Value) []driver.NamedValue {
	named := make([]driver.NamedValue, len(values))
	for i, v := range values {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return named
}
