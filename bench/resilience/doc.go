// Package resilience compares Keel's composition of policies with
// failsafe-go's executor: the cost of retry + breaker + timeout around a call
// that succeeds, and hedging on a simulated backend with a long latency tail
// (p99 with and without hedging, and the extra load it costs, also while the
// backend fails). The benchmarks are in the _test files; interleave.sh runs
// the contenders round by round from one test binary; the figures and the
// commands are in docs/BENCHMARKS.md.
package resilience
