// Package retry compares Keel's retry with failsafe-go's retry policy,
// avast/retry-go v4 and cenkalti/backoff v4. The benchmarks are in
// retry_test.go; the figures and the command that reproduces them are in
// docs/BENCHMARKS.md.
package retry
