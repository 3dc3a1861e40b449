#!/bin/sh
# Recording proxy benchmark: HTTPS requests/s, p50/p99 latency and peak RSS
# for a direct connection, telltale's proxy (recording flows) reached through
# CONNECT (the proxy setting) and redirected (transparent capture: TLS
# straight to its port, routed by SNI), and Debian's mitmdump -w, at 1 and 16
# keep-alive clients posting 2 KB bodies; then telltale's two routes side by
# side (goal: transparent within 10% of CONNECT). The
# proxy under test runs on core 0; the load generator and upstream on core 1.
# CPU columns give each side's share of its core and how busy the core was,
# so a cell slowed by other processes on the machine shows as such.
#   bench/proxy.sh [-duration 6s] [-clients 1,16] [-only telltale]
set -eu
cd "$(dirname "$0")/.."
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed" >&2; exit 1; }
command -v mitmdump >/dev/null || { echo "mitmdump is needed: apt-get install mitmproxy" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -trimpath -o "$tmp/telltale" ./cmd/telltale
go build -o "$tmp/proxybench" ./bench/proxybench
taskset -c 1 "$tmp/proxybench" -telltale "$tmp/telltale" -mitmdump "$(command -v mitmdump)" -work "$tmp" "$@"
