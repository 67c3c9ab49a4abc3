//go:build go1.27

package sqlmetrics

import (
	"context"
	"database/sql/driver"
	"time"
)

// rowsColumnScanner is rows over a driver's driver.RowsColumnScanner (Go
// 1.27): database/sql then calls NextRow and ScanColumn instead of Next, so
// the wrapper has them only when the driver's rows do.
type rowsColumnScanner struct {
	rows
	scanner driver.RowsColumnScanner
}

var _ driver.RowsColumnScanner = (*rowsColumnScanner)(nil)

// scannerSpare keeps a connection's closed rowsColumnScanner, as spareRows
// keeps its rows.
type scannerSpare = spare[rowsColumnScanner]

func (r *rowsColumnScanner) NextRow() error {
	if r.closed {
		return errRowsClosed
	}
	err := r.scanner.NextRow()
	r.advanced(err)
	return err
}

func (r *rowsColumnScanner) ScanColumn(scanCtx driver.ScanContext, index int, dest any) error {
	if r.closed {
		return errRowsClosed
	}
	return r.scanner.ScanColumn(scanCtx, index, dest)
}

// Close is rows.Close, returning the wrapper to its own kind of spare.
func (r *rowsColumnScanner) Close() error {
	if r.closed {
		return nil
	}
	err := r.close()
	r.scanner = nil
	r.conn.spareScanners.put(r)
	return err
}

// newRows wraps a result set of c, in its spare wrapper of the right kind
// when it has one.
func (c *conn) newRows(ctx context.Context, base driver.Rows, st *statement, start time.Duration) driver.Rows {
	if s, ok := base.(driver.RowsColumnScanner); ok {
		r := c.spareScanners.take()
		if r == nil {
			r = new(rowsColumnScanner)
		}
		r.open(ctx, base, c, st, start)
		r.scanner = s
		return r
	}
	r := c.spareRows.take()
	if r == nil {
		r = new(rows)
	}
	r.open(ctx, base, c, st, start)
	return r
}
