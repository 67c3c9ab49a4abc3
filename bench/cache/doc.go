// Package cachebench compares Keel's cache with its peers: throughput
// under parallel reads and a 75/25 read/write mix on scrambled Zipf keys,
// allocations, and memory per entry. Hit ratios on public traces are
// measured by the hitratio command (cmd/hitratio) on package replay.
package cachebench
