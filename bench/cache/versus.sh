#!/bin/sh
# Two builds of the cache benchmarks, interleaved: for each round, each
# benchmark, each contender, the OLD binary then the NEW one, so that load
# drift on a shared machine falls on both alike. Build the binaries with
# `go test -c -o FILE ./cache/` (in bench/) from each version of the code.
#
#   sh cache/versus.sh old.test new.test > versus.txt
#
# Lines are prefixed "old:" or "new:". ROUNDS (default 6), BT (benchtime,
# default 200ms) and CONTENDERS (default "keel otter") tune it; otter is
# the same code in both binaries, so its old/new ratio shows the noise.
set -eu
old=$1
new=$2
for _ in $(seq "${ROUNDS:-6}"); do
	for b in CacheGetParallel CacheGetParallel8x CacheGetSetParallel CacheGetHit; do
		for c in ${CONTENDERS:-keel otter}; do
			for v in old new; do
				if [ "$v" = old ]; then bin=$old; else bin=$new; fi
				"$bin" -test.run='^$' -test.bench="^Benchmark$b\$/^$c\$" \
					-test.benchtime="${BT:-200ms}" -test.benchmem | grep '^Benchmark' | sed "s/^/$v:/"
			done
		done
	done
	cat /proc/loadavg >&2
done
