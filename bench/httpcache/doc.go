// Package httpcachebench measures cache/httpcache: a stored response served
// to a GET against the handler it stands in front of, and against a handler
// that writes prebuilt bytes (the floor for any cache's hit). See
// interleave.sh and docs/BENCHMARKS.md.
package httpcachebench
