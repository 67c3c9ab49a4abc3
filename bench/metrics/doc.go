// Package metrics compares the overhead per request of Keel's HTTP server
// middleware (github.com/keel-go/keel/metrics) with otelhttp's handler and
// with no middleware at all, in the same run.
package metrics
