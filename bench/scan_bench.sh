#!/usr/bin/env bash
# bench/scan_bench.sh - many targets, fast: synprobe, zmap and masscan side
# by side in the rate lab (scripts/ratelab.sh): a server answering for
# 198.18.128.0/17 on ports 80-99, every odd address silently dropped.
#
# For each tool and each --rate it probes the /17 on 20 ports (655,360
# probes; zmap 2.1 takes one port per run, so it runs 20 times), and prints
# the probes per second it achieved while sending and its completeness:
# SYN-ACKs it reported divided by the SYN-ACKs the server really sent
# (counted by nftables on the server, independently of the tools).
# Not a timed test: a benchmark. Everything stays inside the rate lab.
#
# The lab is set up "quiet" for every tool alike (scripts/ratelab.sh quiet;
# QUIET=0 keeps the plain lab): the client's kernel does not answer the
# replies with RSTs (dropped at its ingress hook, after the capture taps have
# seen them; what zmap's and masscan's documentation ask of a scanning host),
# the server answers with SYN cookies and runs in its own NAPI thread rather
# than inside the scanner's send call. The server may then drop SYNs it has
# no room for: completeness counts only the SYN-ACKs it did send, and the
# "server" column says how many of the probes it answered.
#
# usage: bench/scan_bench.sh [RATE...]   (default: 50000 100000 200000 1000000)
# environment: SYNPROBE (binary; default build/synprobe), TOOLS ("synprobe
# zmap masscan"), PORTS (80-99)
set -uo pipefail
cd "$(dirname "$0")/.."
SYNPROBE=${SYNPROBE:-build/synprobe}
TOOLS=${TOOLS:-synprobe zmap masscan}
PORTS=${PORTS:-80-99}
PREFIX=198.18.128.0/17
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(50000 100000 200000 1000000)
SUF="sb$$"
LAB=scripts/ratelab.sh
OUT=$(mktemp -d)
cleanup() { bash "$LAB" down "$SUF" >/dev/null 2>&1; rm -rf "$OUT"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -x "$SYNPROBE" ]; then
    echo "scan_bench: build synprobe first (cmake -S . -B build && cmake --build build)" >&2
    exit 1
fi
bash "$LAB" up "$SUF" >/dev/null || exit 1
if [ "${QUIET:-1}" = 1 ]; then
    bash "$LAB" quiet "$SUF" >/dev/null || exit 1
fi
C="sp-$SUF-rc"
mac=$(ip -n "sp-$SUF-rs" link show to-c | awk '/ether/ {print $2}')
: >"$OUT/empty-blocklist"
lo=${PORTS%-*}
hi=${PORTS#*-}
nports=$((hi - lo + 1))
naddr=$((32768 - 2))
probes=$((naddr * nports))

now() { date +%s.%N; }

run_synprobe() { # rate
    ip netns exec "$C" "$SYNPROBE" -p "$PORTS" "$PREFIX" --rate "$1" \
        --retries 0 --wait 1 --json 2>"$OUT/err" >"$OUT/res"
    grep -c '"verdict":"open"' "$OUT/res"
}

run_masscan() { # rate
    ip netns exec "$C" masscan "$PREFIX" -p"$PORTS" --rate "$1" \
        --adapter to-s --adapter-ip 198.18.0.1 --router-mac "$mac" \
        --wait 1 -oL "$OUT/res" >/dev/null 2>"$OUT/err"
    grep -c '^open' "$OUT/res"
}

run_zmap() { # rate
    local n=0 p
    for p in $(seq "$lo" "$hi"); do
        ip netns exec "$C" zmap -q -p "$p" -r "$1" -i to-s -S 198.18.0.1 \
            -G "$mac" -b "$OUT/empty-blocklist" --disable-syslog -c 1 \
            -o "$OUT/res" "$PREFIX" >/dev/null 2>"$OUT/err"
        n=$((n + $(wc -l <"$OUT/res")))
    done
    echo "$n"
}

printf '%-9s %9s %11s %10s %10s %9s %13s\n' tool rate "probes/s" reported \
    "server" complete "wall (s)"
for rate in "${rates[@]}"; do
    for tool in $TOOLS; do
        command -v "$tool" >/dev/null 2>&1 || [ "$tool" = synprobe ] ||
            { echo "$tool: not installed" >&2; continue; }
        bash "$LAB" reset "$SUF"
        t0=$(now)
        got=$("run_$tool" "$rate")
        t1=$(now)
        sent=$(bash "$LAB" synacks "$SUF")
        # the sending phase: wall time less each tool's 1 s cool-down
        # (zmap's per run)
        cool=1
        [ "$tool" = zmap ] && cool=$nports
        pps=$(echo "$probes / (($t1 - $t0) - $cool)" | bc -l)
        comp=$(echo "100 * $got / ($sent + 0.000001)" | bc -l)
        printf '%-9s %9s %11.0f %10s %10s %8.2f%% %13.2f\n' "$tool" "$rate" \
            "$pps" "$got" "$sent" "$comp" "$(echo "$t1 - $t0" | bc -l)"
        sleep 1
    done
done
