#!/bin/sh
# cache/httpcache against gregjones/httpcache, the handler it fronts and
# the prebuilt-bytes floor, interleaved: each contender's sub-benchmark runs in turn, round
# after round, so that load drift on a shared machine falls on every
# contender alike.
#
#   cd bench && sh httpcache/interleave.sh > httpcache.txt
#   go run golang.org/x/perf/cmd/benchstat@latest httpcache.txt
#
# ROUNDS (default 6) and BT (benchtime per run, default 200ms) tune it.
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go test -c -o "$dir/httpcache.test" ./httpcache/
for _ in $(seq "${ROUNDS:-6}"); do
	for b in Get GetParallel NotModified; do
		for c in keel-httpcache gregjones-httpcache handler prebuilt-bytes; do
			"$dir/httpcache.test" -test.run='^$' -test.bench="^Benchmark$b\$/^$c\$" \
				-test.benchtime="${BT:-200ms}" -test.benchmem | grep '^Benchmark'
		done
	done
done
