#!/usr/bin/env bash
# make demo: a simulated Redmi Note 8 on a private adb server, the whole
# scenario suite through the containerized recording proxy, then the run
# directory and a text leak matrix. FIRMWARE picks the firmware
# (V11.0.3.0 leaky, the default; V12.0.2.0 fixed; V12.5.1.0 hypothetical
# later). Everything started here (phone, adb server, proxy containers) is
# stopped by the suite itself, also on Ctrl-C; the check at the end proves it.
set -euo pipefail
cd "$(dirname "$0")/.."
export TESTCONTAINERS_RYUK_DISABLED=true
FIRMWARE="${FIRMWARE:-V11.0.3.0}"
MODEL="${MODEL:-redmi-note-8}"
BIN="${BIN:-bin/telltale}"
OUT="${OUT:-$PWD/reports/out/demo-$MODEL-$FIRMWARE-$(date -u +%Y%m%d-%H%M%S)}"
[ -x "$BIN" ] || { echo "demo: $BIN missing: run 'make build' (make demo does)"; exit 2; }

start=$(date +%s)
echo "demo: simulated $MODEL on firmware $FIRMWARE, whole suite, proxy in a container"
status=0
"$BIN" run --devices="sim:$MODEL@$FIRMWARE" --out="$OUT" "$@" || status=$?

# Proxy containers of this run are the ones bind-mounting its directory.
left=0
for c in $(docker ps -aq --filter label=dev.telltale.component=proxy); do
	if docker inspect -f '{{range .Mounts}}{{.Source}} {{end}}' "$c" 2>/dev/null | grep -qF "$OUT"; then
		left=$((left + 1))
	fi
done
echo "demo: $(( $(date +%s) - start ))s; proxy containers of this run left behind: $left"
[ "$left" -eq 0 ] || status=1
exit "$status"
