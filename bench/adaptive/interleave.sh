#!/bin/sh
# Keel's adaptive limiter against failsafe-go's adaptivelimiter, interleaved:
# one test binary, each contender's sub-benchmark in turn, round after round,
# so that load drift on a shared machine falls on both alike.
#
#   cd bench && sh adaptive/interleave.sh > ad.txt
#   go run golang.org/x/perf/cmd/benchstat@latest -col /impl ad.txt
#
# ROUNDS (default 10) and BT (benchtime, default 300ms) tune it.
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go test -c -o "$dir/adaptive.test" ./adaptive/
cat /proc/loadavg >&2
for _ in $(seq "${ROUNDS:-10}"); do
	for bench in AcquireRelease Do; do
		for mode in serial parallel; do
			for c in keel failsafe-go; do
				"$dir/adaptive.test" -test.run='^$' -test.bench="^Benchmark$bench\$/^impl=$c\$/^$mode\$" \
					-test.benchtime="${BT:-300ms}" -test.benchmem | grep '^Benchmark'
			done
		done
	done
done
cat /proc/loadavg >&2
