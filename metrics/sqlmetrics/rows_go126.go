//go:build !go1.27

package sqlmetrics

import "database/sql/driver"

func wrapRows(r rows) driver.Rows { return &r }
