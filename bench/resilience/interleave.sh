#!/bin/sh
# Keel's pipeline and hedging against failsafe-go, interleaved: one test
# binary, and each contender's sub-benchmark runs in turn, round after round,
# so that load drift on a shared machine falls on every contender alike
# (go test -count=N would run each contender's N repetitions back to back).
#
#   cd bench && sh resilience/interleave.sh > resilience.txt
#   go run golang.org/x/perf/cmd/benchstat@latest -col /impl resilience.txt
#
# ROUNDS (default 10), BT (benchtime of the pipeline benchmarks, default
# 300ms) and CALLS (calls per hedging run, default 5000x) tune it.
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go test -c -o "$dir/resilience.test" ./resilience/
run() { # run BENCHMARK SUB BENCHTIME
	"$dir/resilience.test" -test.run='^$' -test.bench="^Benchmark$1\$/^$2\$" \
		-test.benchtime="$3" -test.benchmem | grep '^Benchmark'
}
for _ in $(seq "${ROUNDS:-10}"); do
	for fn in noop done; do
		for c in keel-pipeline keel-nested keel-retry keel-breaker keel-timeout failsafe; do
			"$dir/resilience.test" -test.run='^$' -test.bench="^BenchmarkPipelineSuccess\$/^fn=$fn\$/^impl=$c\$" \
				-test.benchtime="${BT:-300ms}" -test.benchmem | grep '^Benchmark'
		done
	done
	for c in keel-pipeline keel-nested failsafe; do run PipelineSuccessParallel "impl=$c" "${BT:-300ms}"; done
	for c in direct keel failsafe; do run HedgeOverhead "impl=$c" "${BT:-300ms}"; done
	for c in none keel-fixed keel-p95 failsafe-fixed failsafe-p95; do run HedgeLongTail "impl=$c" "${CALLS:-5000x}"; done
	for c in keel-fixed keel-fixed-nobudget failsafe-fixed failsafe-fixed-budget; do run HedgeFailingBackend "impl=$c" "${CALLS:-5000x}"; done
done
