// Package adaptive compares Keel's adaptive concurrency limiter
// (ratelimit/adaptive) with fixed bulkheads set too high and too low and
// with failsafe-go's adaptivelimiter, on a simulated backend whose latency
// grows with concurrency (TestShedSimulation, in virtual time), and
// measures the acquire/release hot path of both adaptive limiters
// (BenchmarkAcquireRelease, in real time).
package adaptive
