#!/bin/sh
# Keel's keyed limiter against the naive peer (a sync.Map of x/time/rate
# limiters), interleaved: one test binary, and each contender's
# sub-benchmark runs in turn, round after round, so that load drift on a
# shared machine falls on every contender alike (go test -count=N would run
# each contender's N repetitions back to back).
#
#   cd bench && sh ratelimit/interleave.sh > rl.txt
#   go run golang.org/x/perf/cmd/benchstat@latest -col /impl rl.txt
#
# ROUNDS (default 10) and BT (benchtime, default 300ms) tune it.
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go test -c -o "$dir/ratelimit.test" ./ratelimit/
cat /proc/loadavg >&2
for _ in $(seq "${ROUNDS:-10}"); do
	for mode in serial parallel; do
		for c in keel syncmap-xrate; do
			"$dir/ratelimit.test" -test.run='^$' -test.bench="^BenchmarkKeyedAllow\$/^impl=$c\$/^$mode\$" \
				-test.benchtime="${BT:-300ms}" -test.benchmem | grep '^Benchmark'
		done
	done
	for c in clock-now clock-since; do
		"$dir/ratelimit.test" -test.run='^$' -test.bench="^BenchmarkKeyedAllow\$/^impl=$c\$" \
			-test.benchtime="${BT:-300ms}" | grep '^Benchmark'
	done
done
cat /proc/loadavg >&2
