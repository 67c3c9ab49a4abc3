#!/bin/sh
# Throughput of Keel's cache against its peers, interleaved: each
# contender's sub-benchmark runs in turn, round after round, so that load
# drift on a shared machine falls on every contender alike (go test
# -count=N would run each contender's N repetitions back to back).
#
#   cd bench && sh cache/interleave.sh > cache.txt
#   go run golang.org/x/perf/cmd/benchstat@latest cache.txt
#
# ROUNDS (default 10) and BT (benchtime per run, default 200ms) tune it.
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go test -c -o "$dir/cache.test" ./cache/
for _ in $(seq "${ROUNDS:-10}"); do
	for b in CacheGetParallel CacheGetParallel8x CacheGetSetParallel CacheGetHit; do
		for c in keel keel-tinylfu golang-lru-expirable otter; do
			"$dir/cache.test" -test.run='^$' -test.bench="^Benchmark$b\$/^$c\$" \
				-test.benchtime="${BT:-200ms}" -test.benchmem | grep '^Benchmark'
		done
	done
done
