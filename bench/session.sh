#!/usr/bin/env bash
# Session benchmarks as one table: proxy container start with a warm image,
# a whole lease (open + restore) of a simulated phone, and the scenario suite
# on 1, 2 and 4 simulated phones (wall time, harness overhead per scenario =
# window minus settle). Needs adb and a Docker engine (make deps).
# Usage: bench/session.sh [N]   (N iterations per benchmark, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
export TESTCONTAINERS_RYUK_DISABLED=true
n="${1:-3}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -run '^$' -bench 'BenchmarkProxyContainerStart|BenchmarkSessionOpenClose' -benchtime "${n}x" ./harness/session >>"$out" 2>&1
go test -run '^$' -bench 'BenchmarkSuite' -benchtime 1x -timeout 30m ./cmd/telltale >>"$out" 2>&1 || { tail -40 "$out"; exit 1; }
printf '%-34s %s\n' "benchmark" "result"
# Each result line: name iterations ns/op value unit [value unit ...].
grep -E '^Benchmark' "$out" | sed -E 's/-[0-9]+ / /' | awk '{
	line = ""
	for (i = 5; i + 1 <= NF; i += 2) line = line sprintf("%s %s  ", $i, $(i+1))
	printf "%-34s %s(%s runs)\n", $1, line, $2
}'
