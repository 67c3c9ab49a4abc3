// Package bench holds benchmarks of Keel against peer libraries. It is a
// separate module so that the peers are required here only, never by a user
// of Keel. Each package's comparison lives in its own folder (bench/breaker,
// bench/cache, ...); shared workload generators live in bench/harness.
//
// Ratios against a peer are only meaningful when both are measured in the same
// run on the same machine: see docs/BENCHMARKS.md.
package bench
