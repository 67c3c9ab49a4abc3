#!/bin/sh
# Throughput of Keel's cache against its peers, interleaved: each
# contender's sub-benchmark runs in turn, round after round, so that load
# drift on a shared machine falls on every contender alike (go test
# -count=N would run each contender's N repetitions back to back).
#
#   cd bench && sh cache/interleave.sh > cache.txt
#   go run golang.org/x/perf/cmd/benchstat@latest cache.txt
#
# ROUNDS (default 10) and BT (benchtime per run, default 200ms) tune it;
# CONTENDERS lists the contenders (default below; otter-stats is otter
# counting hits and misses, as Keel always does). BASE=<commit> also runs
# Keel's cache as of that commit, in the same rounds, named keel@base
# (before/after figures from one run).
set -eu
dir=$(mktemp -d)
trap 'git worktree remove --force "$dir/base" 2>/dev/null || true; rm -rf "$dir"' EXIT
go test -c -o "$dir/cache.test" ./cache/
if [ -n "${BASE:-}" ]; then
	git worktree add --quiet --detach "$dir/base" "$BASE"
	(cd "$dir/base/bench" && go test -c -o "$dir/base.test" ./cache/)
fi
for _ in $(seq "${ROUNDS:-10}"); do
	for b in CacheGetParallel CacheGetParallel8x CacheGetSetParallel CacheGetHit; do
		if [ -n "${BASE:-}" ]; then
			"$dir/base.test" -test.run='^$' -test.bench="^Benchmark$b\$/^keel\$" \
				-test.benchtime="${BT:-200ms}" -test.benchmem | grep '^Benchmark' | sed 's#/keel-#/keel@base-#'
		fi
		for c in ${CONTENDERS:-keel keel-tinylfu golang-lru-expirable otter otter-stats}; do
			"$dir/cache.test" -test.run='^$' -test.bench="^Benchmark$b\$/^$c\$" \
				-test.benchtime="${BT:-200ms}" -test.benchmem | grep '^Benchmark'
		done
	done
done
