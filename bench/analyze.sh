#!/bin/sh
# `telltale analyze` on large captures: a generated HAR and mitmproxy dump of
# -size bytes each (default 1 GiB) and the issue's 40,000-batch HAR. Prints
# wall and CPU time, MB/s, the child's peak RSS and the planted leaks found,
# for this tree ("after") and for BASE_REV ("before", the HAR path that read
# the whole file; BASE_REV=none skips it). Needs about 2.5x -size of free
# space under TMPDIR and, for "before" on 1 GiB, about 6 GB of memory.
#   bench/analyze.sh [-size 1073741824] [-runs 1] [-before-max 2147483648]
set -eu
cd "$(dirname "$0")/.."
BASE_REV=${BASE_REV:-ae4fab9}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -trimpath -o "$tmp/telltale" ./cmd/telltale
go build -o "$tmp/analyzebench" ./bench/analyzebench
before=""
if [ "$BASE_REV" != none ]; then
	mkdir "$tmp/base"
	git archive "$BASE_REV" | tar -x -C "$tmp/base"
	(cd "$tmp/base" && CGO_ENABLED=0 go build -trimpath -o "$tmp/telltale-before" ./cmd/telltale)
	before="$tmp/telltale-before"
fi
"$tmp/analyzebench" -telltale "$tmp/telltale" -before "$before" -work "$tmp" "$@"
