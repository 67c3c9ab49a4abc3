package sqlmetrics

import (
	"context"
	"database/sql/driver"
	"io"
	"reflect"
	"time"
)

// rows wraps a result set. The operation it belongs to ends when the rows
// are exhausted (Next answers io.EOF), fail, or are closed, whichever comes
// first: that is when the database has delivered the result, so a query
// that streams many rows is as slow as it is. Time the application spends
// between two Next calls is included.
type rows struct {
	base  driver.Rows
	rec   *recorder
	st    *statement
	ctx   context.Context
	start time.Duration
	count int64
	ended bool
}

func newRows(ctx context.Context, base driver.Rows, rec *recorder, st *statement, start time.Duration) driver.Rows {
	return wrapRows(rows{base: base, rec: rec, st: st, ctx: ctx, start: start})
}

func (r *rows) unwrapRows() driver.Rows { return r.base }

// end records the operation once.
func (r *rows) end(err error) {
	if r.ended {
		return
	}
	r.ended = true
	r.rec.done(r.ctx, r.st, r.start, r.count, nil, err)
}

func (r *rows) Columns() []string { return r.base.Columns() }

func (r *rows) Close() error {
	err := r.base.Close()
	r.end(err)
	return err
}

func (r *rows) Next(dest []driver.Value) error {
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
