//go:build !go1.27

package sqlmetrics

import (
	"context"
	"database/sql/driver"
	"time"
)

// scannerSpare has nothing to keep before Go 1.27, which has no
// driver.RowsColumnScanner.
type scannerSpare struct{}

func (scannerSpare) reset() {}

// newRows wraps a result set of c, in its spare wrapper when it has one.
func (c *conn) newRows(ctx context.Context, base driver.Rows, st *statement, start time.Duration) driver.Rows {
	r := c.spareRows.take()
	if r == nil {
		r = new(rows)
	}
	r.open(ctx, base, c, st, start)
	return r
}
