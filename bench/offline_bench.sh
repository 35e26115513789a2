#!/usr/bin/env bash
# Offline benchmark (not a timed test): generates a large synthetic capture
# with its ground truth (bench/gencap.c), checks synprobe's attempt verdicts
# against it, and times, on the same file, synprobe -r, a bare libpcap read
# loop (bench/pcapread.c, the limit), tcpdump with a BPF filter, and tshark
# -z conv,tcp (on a prefix of the file: it is slow and large).
#
#   bench/offline_bench.sh            # ~1,000,000 attempts, ~5 M packets
#   N=100000 bench/offline_bench.sh   # quicker
#
# Settings (environment): N attempts to start (default 1000000), SEED (42),
# RATE attempts per second of capture time (2000), RUNS timed runs per tool,
# best kept (9: the machine may be shared), TSHARK_PKTS packets for tshark
# (500000, 0 skips it),
# BUILD tree (build-bench), BENCH_CFLAGS extra compiler flags for that tree,
# KEEP=1 keeps the temporary folder.
# Goal: synprobe at least half the bare loop's packets per second, and under
# 200 bytes of peak memory per attempt still open.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build-bench}
n=${N:-1000000}
seed=${SEED:-42}
rate=${RATE:-2000}
runs=${RUNS:-9}
tshark_pkts=${TSHARK_PKTS:-500000}
wait2=30

tmp=$(mktemp -d /tmp/synprobe-bench.XXXXXX)
if [ "${KEEP:-0}" = 1 ]; then
    echo "bench: keeping $tmp" >&2
else
    trap 'rm -rf "$tmp"' EXIT
fi

echo "== build ($build, RelWithDebInfo)" >&2
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    ${BENCH_CFLAGS:+"-DCMAKE_C_FLAGS=$BENCH_CFLAGS"} >/dev/null
cmake --build "$build" -j"$(nproc)" --target synprobe gencap pcapread >/dev/null

echo "== generate $n attempts (seed $seed, $rate/s)" >&2
cap=$tmp/bench.pcap
truth=$tmp/truth.txt
"$build/gencap" -r "$rate" -w "$wait2" "$n" "$seed" "$cap" "$truth" >"$tmp/gen.txt"
gen() { sed -n "s/^$1=//p" "$tmp/gen.txt"; }
packets=$(gen packets)
max_open=$(gen max_open)
max_open_w2=$(gen max_open_w2)
echo "   $(gen attempts) attempts, $packets packets, $(gen seconds) s of capture," \
    "$(du -m "$cap" | cut -f1) MB; at most $max_open attempts open (--wait 3)," \
    "$max_open_w2 (--wait $wait2)" >&2
cat "$cap" >/dev/null # the page cache holds it for every tool alike

# measure NAME CMD...: best wall time of $runs runs, and that run's peak RSS.
# Leaves "seconds kilobytes" in $tmp/NAME.time. stdout goes to /dev/null, as
# tcpdump's -w does: the time is the tool's, not the disk's (synprobe --json
# writes 364 MB for a million attempts; the verdicts are checked on a run of
# their own below). Exit status 1 is fine (synprobe: some target not open).
measure() {
    local name=$1 best="" r t m rc
    shift
    for ((r = 0; r < runs; r++)); do
        rc=0
        /usr/bin/time -f '%e %M' -o "$tmp/t" "$@" >/dev/null 2>"$tmp/$name.err" || rc=$?
        if [ "$rc" -gt 1 ]; then
            echo "bench: $name exited $rc:" >&2
            tail -3 "$tmp/$name.err" >&2
        fi
        read -r t m < <(tail -1 "$tmp/t")
        if [ -z "$best" ] || awk -v a="$t" -v b="${best% *}" 'BEGIN{exit !(a<b)}'; then
            best="$t $m"
        fi
    done
    echo "$best" >"$tmp/$name.time"
    echo "   $name: $best" >&2
}

echo "== run (best of $runs)" >&2
measure pcapread "$build/pcapread" "$cap"
measure synprobe "$build/synprobe" -r "$cap" --json
measure synprobe_text "$build/synprobe" -r "$cap"
measure tcpdump tcpdump -nr "$cap" -w /dev/null 'tcp or icmp or icmp6'

# Memory: a baseline on a tiny prefix, and a run that keeps attempts open 10x
# longer (--wait 30) so that the slope isolates the cost of an open attempt.
editcap -r "$cap" "$tmp/tiny.pcap" 1-1000 2>/dev/null
runs_save=$runs
runs=1
measure baseline "$build/synprobe" -r "$tmp/tiny.pcap" --json
measure synprobe_w2 "$build/synprobe" -r "$cap" --json --wait "$wait2"
runs=$runs_save

tshark_n=0
if [ "$tshark_pkts" -gt 0 ] && command -v tshark >/dev/null; then
    tshark_n=$((tshark_pkts < packets ? tshark_pkts : packets))
    editcap -r "$cap" "$tmp/prefix.pcap" "1-$tshark_n" 2>/dev/null
    runs_save=$runs
    runs=1
    measure tshark tshark -q -z conv,tcp -r "$tmp/prefix.pcap"
    runs=$runs_save
fi

echo
echo "== verdicts: synprobe -r --json attempt records vs gencap truth"
"$build/synprobe" -r "$cap" --json >"$tmp/synprobe.out" 2>/dev/null || true
python3 "$root/bench/check_truth.py" "$truth" "$tmp/synprobe.out" || true

echo
echo "== speed and memory ($packets packets; tshark on the first $tshark_n)"
row() { # label name packets
    local t m
    read -r t m <"$tmp/$2.time"
    awk -v l="$1" -v t="$t" -v m="$m" -v p="$3" -v b="$bare_pps" 'BEGIN{
        pps = t > 0 ? p / t : 0;
        printf "%-44s %9d %8.2f %8.3f %9.1f %8.3f\n", l, p, t, pps / 1e6, m / 1024,
            (b > 0 ? pps / b : 0) }'
}
read -r bt _ <"$tmp/pcapread.time"
bare_pps=$(awk -v p="$packets" -v t="$bt" 'BEGIN{print (t > 0 ? p / t : 0)}')
printf "%-44s %9s %8s %8s %9s %8s\n" tool packets seconds Mpkt/s "peak MB" "x bare"
row "bare pcap_next_ex loop (bench/pcapread)" pcapread "$packets"
row "synprobe -r FILE --json (attempts checked)" synprobe "$packets"
row "synprobe -r FILE (targets only)" synprobe_text "$packets"
row "tcpdump -w /dev/null 'tcp or icmp or icmp6'" tcpdump "$packets"
[ "$tshark_n" -gt 0 ] && row "tshark -q -z conv,tcp (prefix)" tshark "$tshark_n"

read -r _ base_kb <"$tmp/baseline.time"
read -r _ peak_kb <"$tmp/synprobe.time"
read -r _ peak2_kb <"$tmp/synprobe_w2.time"
echo
awk -v b="$base_kb" -v p="$peak_kb" -v p2="$peak2_kb" -v o="$max_open" \
    -v o2="$max_open_w2" -v w2="$wait2" 'BEGIN{
    printf "memory: baseline (1000 packets) %.1f MB, peak %.1f MB with at most %d attempts open\n",
        b / 1024, p / 1024, o;
    printf "  (peak - baseline) / open attempts          %7.0f bytes (includes every target and host kept for the report)\n",
        (p - b) * 1024 / o;
    if (o2 > o)
        printf "  slope with --wait %d (%.1f MB, %d open) %7.0f bytes per extra open attempt\n",
            w2, p2 / 1024, o2, (p2 - p) * 1024 / (o2 - o);
}'
read -r st _ <"$tmp/synprobe.time"
awk -v p="$packets" -v t="$st" -v b="$bare_pps" 'BEGIN{
    r = p / t / b;
    printf "goal: synprobe >= 0.5 x bare loop: %.2f x -> %s\n", r, (r >= 0.5 ? "met" : "NOT met") }'
