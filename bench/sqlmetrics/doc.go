// Package sqlmetrics compares what one database/sql operation pays for
// Keel's metrics/sqlmetrics against the bare driver and XSAM/otelsql, in the
// same run. The benchmarks are in the _test files.
package sqlmetrics
