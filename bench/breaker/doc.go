// Package breaker compares Keel's breaker with sony/gobreaker v2 and
// failsafe-go's circuit breaker. The benchmarks are in breaker_test.go; the
// figures and the command that reproduces them are in docs/BENCHMARKS.md.
package breaker
