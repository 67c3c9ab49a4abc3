package sqlmetrics

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"reflect"
	"time"
)

// rows wraps a result set. The operation it belongs to ends when the rows
// are exhausted (Next answers io.EOF), fail, or are closed, whichever comes
// first: that is when the database has delivered the result, so a query
// that streams many rows is as slow as it is. Time the application spends
// between two Next calls is included.
//
// A connection reuses a closed wrapper for a later result set (see
// spareRows), so a closed wrapper keeps nothing of its query: Close drops
// the driver's rows, the context and the statement, and every method after
// Close answers without reaching the driver.
type rows struct {
	base   driver.Rows
	conn   *conn
	st     *statement
	ctx    context.Context
	start  time.Duration
	count  int64
	ended  bool
	closed bool
}

// open readies a new or reused wrapper for a result set.
func (r *rows) open(ctx context.Context, base driver.Rows, c *conn, st *statement, start time.Duration) {
	*r = rows{base: base, conn: c, st: st, ctx: ctx, start: start}
}

func (r *rows) unwrapRows() driver.Rows { return r.base }

// end records the operation once.
func (r *rows) end(err error) {
	if r.ended {
		return
	}
	r.ended = true
	r.conn.rec.done(r.ctx, r.st, r.start, r.count, nil, err)
}

// errRowsClosed answers a call on rows after their Close, which database/sql
// never makes: only a caller of the driver's own API (sql.Conn.Raw) can.
var errRowsClosed = errors.New("sqlmetrics: rows used after Close")

func (r *rows) Columns() []string {
	if r.closed {
		return nil
	}
	return r.base.Columns()
}

func (r *rows) Close() error {
	if r.closed {
		return nil
	}
	err := r.close()
	r.conn.spareRows.put(r)
	return err
}

// close closes the driver's rows, ends the operation, and forgets the
// query so that a wrapper waiting to be reused keeps none of it alive.
func (r *rows) close() error {
	err := r.base.Close()
	r.end(err)
	r.closed = true
	r.base, r.ctx, r.st = nil, nil, nil
	return err
}

func (r *rows) Next(dest []driver.Value) error {
	if r.closed {
		return errRowsClosed
	}
	err := r.base.Next(dest)
	r.advanced(err)
	return err
}

// advanced counts a row, or ends the operation at the end of the rows.
func (r *rows) advanced(err error) {
	switch err {
	case nil:
		r.count++
	case io.EOF:
		r.end(nil)
	default:
		r.end(err)
	}
}

// spare keeps a connection's closed result-set wrapper for its next result
// set, so that a query allocates no wrapper of its own in the steady state.
//
// Reuse is safe because database/sql is the wrapper's only holder and never
// calls a driver's rows after closing them (every sql.Rows method checks
// its closed flag under its lock first), unlike an http.ResponseWriter,
// which a handler may hand to a goroutine that outlives the request. The
// one other holder is code that called the wrapped connection itself in
// sql.Conn.Raw; so a closed wrapper becomes reusable only when database/sql
// resets the connection's session (ResetSession), which it does when it
// takes the connection back from the pool for a new user: by then Raw's
// callback, the only place its driver values may be used, has returned. Every
// access is under the driverConn's lock that database/sql holds around
// QueryContext, Rows.Close and ResetSession.
type spare[T any] struct {
	closed *T // closed, perhaps still held by a Raw caller
	ready  *T // closed before the connection's last session reset
}

// take returns a reusable wrapper, or nil.
func (s *spare[T]) take() *T {
	r := s.ready
	s.ready = nil
	return r
}

func (s *spare[T]) put(r *T) { s.closed = r }

// reset is the connection's session reset: what was closed before it is
// now reusable.
func (s *spare[T]) reset() {
	if s.closed != nil {
		s.ready, s.closed = s.closed, nil
	}
}

// The column-type methods answer as database/sql does when the driver's
// rows lack the interface.

func (r *rows) HasNextResultSet() bool {
	if n, ok := r.base.(driver.RowsNextResultSet); ok {
		return n.HasNextResultSet()
	}
	return false
}

func (r *rows) NextResultSet() error {
	if n, ok := r.base.(driver.RowsNextResultSet); ok {
		return n.NextResultSet()
	}
	return io.EOF
}

func (r *rows) ColumnTypeScanType(index int) reflect.Type {
	if t, ok := r.base.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(index)
	}
	return reflect.TypeFor[any]()
}

func (r *rows) ColumnTypeDatabaseTypeName(index int) string {
	if t, ok := r.base.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(index)
	}
	return ""
}

func (r *rows) ColumnTypeLength(index int) (int64, bool) {
	if t, ok := r.base.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(index)
	}
	return 0, false
}

func (r *rows) ColumnTypeNullable(index int) (nullable, ok bool) {
	if t, ok := r.base.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(index)
	}
	return false, false
}

func (r *rows) ColumnTypePrecisionScale(index int) (precision, scale int64, ok bool) {
	if t, ok := r.base.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(index)
	}
	return 0, 0, false
}

var (
	_ driver.RowsNextResultSet              = (*rows)(nil)
	_ driver.RowsColumnTypeScanType         = (*rows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*rows)(nil)
	_ driver.RowsColumnTypeLength           = (*rows)(nil)
	_ driver.RowsColumnTypeNullable         = (*rows)(nil)
	_ driver.RowsColumnTypePrecisionScale   = (*rows)(nil)
)
