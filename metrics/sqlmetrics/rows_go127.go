//go:build go1.27

package sqlmetrics

import "database/sql/driver"

// rowsColumnScanner is rows over a driver's driver.RowsColumnScanner (Go
// 1.27): database/sql then calls NextRow and ScanColumn instead of Next, so
// the wrapper has them only when the driver's rows do.
type rowsColumnScanner struct {
	rows
	scanner driver.RowsColumnScanner
}

var _ driver.RowsColumnScanner = (*rowsColumnScanner)(nil)

func (r *rowsColumnScanner) NextRow() error {
	err := r.scanner.NextRow()
	r.advanced(err)
	return err
}

func (r *rowsColumnScanner) ScanColumn(scanCtx driver.ScanContext, index int, dest any) error {
	return r.scanner.ScanColumn(scanCtx, index, dest)
}

// wrapRows allocates the one wrapper a result set needs.
func wrapRows(r rows) driver.Rows {
	if s, ok := r.base.(driver.RowsColumnScanner); ok {
		return &rowsColumnScanner{rows: r, scanner: s}
	}
	return &r
}
