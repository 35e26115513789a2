#!/usr/bin/env bash
# tests/golden_test.sh -- golden-file test for the project's own captures
#
# Usage:
#   tests/golden_test.sh [--update] SYNPROBE [CAPTURES_DIR]
#
# For every CAPTURES_DIR/NAME.pcap that has a NAME.expected beside it, runs
#   SYNPROBE -r NAME.pcap --json
# and compares its stdout with NAME.expected exactly (diff shown on failure).
# Prints PASS/FAIL per file and finally `golden: N passed, M failed`; exits 1
# if anything failed (or nothing was found), else 0.
#
# --update rewrites every NAME.expected that exists from synprobe's current
# output (a capture without .expected is left out on purpose: see
# captures/README.md). To add a capture, create an empty NAME.expected first.
# Read every rewritten file before committing it: a golden file that
# enshrines a wrong verdict is worse than none.
set -uo pipefail

update=0
if [ "${1-}" = --update ]; then update=1; shift; fi
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 [--update] SYNPROBE [CAPTURES_DIR]" >&2
    exit 2
fi
bin=$1
dir=${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/captures}
[ -x "$bin" ] || { echo "golden: not executable: $bin" >&2; exit 2; }
[ -d "$dir" ] || { echo "golden: no such directory: $dir" >&2; exit 2; }

# The output must not depend on the locale or time zone.
export LC_ALL=C TZ=UTC

pass=0 fail=0
tmp=$(mktemp)
trap 'rm -f -- "$tmp"' EXIT

shopt -s nullglob
for pcap in "$dir"/*.pcap "$dir"/*.pcapng; do
    exp=${pcap%.*}.expected
    [ -f "$exp" ] || continue
    name=$(basename -- "$pcap")
    # Exit status 1 (some target not open) is normal here; >= 2 is not.
    "$bin" -r "$pcap" --json >"$tmp" 2>"$tmp.err"
    rc=$?
    if [ "$rc" -ge 2 ]; then
        echo "FAIL $name (exit status $rc)"
        sed 's/^/    /' "$tmp.err"
        fail=$((fail + 1))
        rm -f -- "$tmp.err"
        continue
    fi
    rm -f -- "$tmp.err"
    if [ "$update" = 1 ]; then
        if cmp -s "$tmp" "$exp"; then
            echo "PASS $name (unchanged)"
        else
            cp -- "$tmp" "$exp"
            echo "PASS $name (updated $(basename -- "$exp"))"
        fi
        pass=$((pass + 1))
    elif diff -u --label "$(basename -- "$exp")" --label "synprobe -r $name --json" \
        "$exp" "$tmp" >"$tmp.diff"; then
        echo "PASS $name"
        pass=$((pass + 1))
    else
        echo "FAIL $name"
        sed 's/^/    /' "$tmp.diff"
        fail=$((fail + 1))
    fi
    rm -f -- "$tmp.diff"
done

echo "golden: $pass passed, $fail failed"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
