#!/usr/bin/env bash
# Leaks that arrive late (issue 12), as one table:
#  - the Redmi Note 8 suite with realistic telemetry timing: windows that end
#    once what they expect came, --pipeline, and fixed settle windows long
#    enough to catch every leak (cmd/telltale BenchmarkSuiteModes), with the
#    pipeline's goal (the actions' own time + 1.5 flush intervals);
#  - the harness's cost of one action window with 1k, 10k and 100k flows
#    already in the log (harness/attribution BenchmarkWindow), next to the
#    old way (each window re-decoding the log: harness/leak's rescan);
#  - the detector's throughput on Sensors Analytics batches against the
#    unwrap-only floor measured in the same run (harness/leak, paired).
# CPU-time figures are the ones to compare on a shared machine. Needs adb
# (make deps). Takes about ten minutes.
# Usage: bench/late.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export TESTCONTAINERS_RYUK_DISABLED=true
out=$(mktemp)
trap 'rm -f "$out"' EXIT
run() { go test -run '^$' "$@" >>"$out" 2>&1 || { tail -40 "$out"; exit 1; }; }
run -bench 'BenchmarkSuiteModes' -benchtime 1x -timeout 60m ./cmd/telltale
run -bench 'BenchmarkWindow' -benchtime 200x -cpu 1 ./harness/attribution
run -bench 'BenchmarkSessionWindow/rescan' -benchtime 20x -cpu 1 ./harness/leak
run -bench 'BenchmarkScan/telemetry/paired' -cpu 1 ./harness/leak

# Each result line: name iterations ns/op value unit [value unit ...].
awk '
function metric(unit,   i) { for (i = 3; i + 1 <= NF; i += 2) if ($(i+1) == unit) return $i; return "" }
/^BenchmarkSuiteModes\// {
	split($1, p, "/"); mode = p[2]; sub(/-[0-9]+$/, "", mode)
	suite[mode] = sprintf("%-34s wall %6.1f s   phone %6.1f s   actions %5.1f s   goal %5.1f s", "suite " mode, metric("wall-s"), metric("phase-s"), metric("act-s"), metric("goal-s"))
	order[++n] = mode
}
/^BenchmarkWindow\// {
	split($1, p, "/"); l = p[2]; sub(/-[0-9]+$/, "", l)
	win[++w] = sprintf("%-34s %8.2f ms CPU   %8.2f ms wall", "window, tracker, " l, metric("cpu-ns/op") / 1e6, $3 / 1e6)
}
/^BenchmarkSessionWindow\/rescan/ {
	split($1, p, "/"); l = p[3]; sub(/-[0-9]+$/, "", l)
	win[++w] = sprintf("%-34s %8.2f ms CPU   %8.2f ms wall", "window, old rescan, " l, metric("cpu-ns/op") / 1e6, $3 / 1e6)
}
/^BenchmarkScan\/telemetry\/paired/ {
	det = sprintf("%-34s %6.1f MB/s CPU   floor %6.1f MB/s   ratio %.2f", "detector on SA batches", metric("detector-cpu-MB/s"), metric("floor-cpu-MB/s"), metric("ratio"))
}
END {
	print "benchmark                          result"
	for (i = 1; i <= n; i++) print suite[order[i]]
	for (i = 1; i <= w; i++) print win[i]
	print det
}' "$out"
