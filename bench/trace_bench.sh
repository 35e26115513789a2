#!/usr/bin/env bash
# bench/trace_bench.sh -- time to a located verdict on the lab's router-drop
# scenario (r2-drop: router r2, hop 2, drops tcp/8443 in its forward chain).
#   sudo bash bench/trace_bench.sh
#
# For each tool, with its default settings (plus -n where the tool would do
# reverse DNS, so that nothing leaves the lab): the wall time from start until
# it exits with its answer, and whether that answer located the drop, i.e. its
# output shows hop 2 (198.18.2.2) answering and no hop after it answering the
# TCP probes. Tools:
#   synprobe --trace -p 8443 198.18.4.100          (RUNS runs, default 5)
#   tcptraceroute -n 198.18.4.100 8443             (Debian: tcptraceroute.mt)
#   traceroute -T -n -p 8443 198.18.4.100
#   mtr --tcp -n -r -P 8443 198.18.4.100
#   scamper -c 'trace -P tcp -d 8443' -i 198.18.4.100
# Goal: synprobe located in < 2.5 s, >= 10x sooner than `traceroute -T`.
#
# Every tool runs in the lab's client namespace, one at a time, with a 6 s
# pause between runs so that the routers' ICMP rate-limit buckets (burst 6,
# 1/s) are full for each tool. Each run is capped at 300 s. tcptraceroute
# alone takes about 4 minutes: SKIP="tcptraceroute ..." skips tools. Outputs
# go to bench/out/trace_bench/ and the table to bench/out/trace_bench.txt.
#
# Environment: SYNPROBE=path (default build/synprobe, built if missing),
# RUNS=N synprobe runs (default 5), SKIP="tool ...".
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "$0: run as root (sudo)" >&2; exit 1; }
RUNS=${RUNS:-5}
SKIP=" ${SKIP:-} "
[[ $RUNS =~ ^[1-9][0-9]?$ ]] || { echo "$0: RUNS must be 1-99" >&2; exit 2; }
SP=${SYNPROBE:-$PWD/build/synprobe}
if [ ! -x "$SP" ]; then
    bash scripts/setup.sh
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target synprobe >/dev/null
    SP=$PWD/build/synprobe
fi

SUFFIX="trb$$"
CLIENT="sp-$SUFFIX-c"
LAB_UP=0
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ "$LAB_UP" != 1 ] || bash scripts/lab.sh down "$SUFFIX" || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { printf '%d.%02d' $(($1 / 1000)) $((($1 % 1000) / 10)); }

DST=198.18.4.100 PORT=8443 DROP_HOP=2 DROP_ADDR=198.18.2.2
OUTDIR=bench/out/trace_bench
mkdir -p "$OUTDIR"

LAB_UP=1
bash scripts/lab.sh up "$SUFFIX" r2-drop >/dev/null 2>"$OUTDIR/lab.log" ||
    { cat "$OUTDIR/lab.log" >&2; exit 1; }

# located_hops FILE: traceroute-style output (traceroute, tcptraceroute,
# scamper, mtr -r): "yes" if hop DROP_HOP answered from DROP_ADDR and no later
# hop shows an address, else "no (...)".
located_hops() {
    awk -v h="$DROP_HOP" -v a="$DROP_ADDR" '
        match($0, /^ *[0-9]+\.?(\|--)? /) {
            split($0, f, /[ .|]+/); n = (f[1] == "" ? f[2] : f[1]) + 0
            addr = ($0 ~ /[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/)
            if (n == h && index($0, a)) seen = 1
            if (n > h && addr) { later = later " " n }
        }
        END {
            if (seen && later == "") print "yes"
            else if (!seen) print "no (hop " h " not shown)"
            else print "no (answers at hops" later ")"
        }' "$1"
}

# located_synprobe FILE: the verdict line says filtered at hop DROP_HOP.
located_synprobe() {
    awk -v d="$DST" -v p="$PORT" -v h="$DROP_HOP" '
        $1 == d && $2 == p { v = $3; hop = $5 }
        END {
            if (v == "filtered" && hop == h) print "yes"
            else print "no (" v " hop " hop ")"
        }' "$1"
}

RESULTS=() # "tool|ms|located|command"
run_tool() { # NAME LOCATOR CMD...
    local name=$1 locator=$2 t0 ms f rc
    shift 2
    f="$OUTDIR/$name.txt"
    sleep 6 # let r1/r2 refill their ICMP rate-limit buckets
    t0=$(now_ms)
    set +e
    ip netns exec "$CLIENT" timeout 300 "$@" >"$f" 2>&1
    rc=$?
    set -e
    ms=$(($(now_ms) - t0))
    [ "$rc" != 124 ] || echo "(killed after 300 s)" >>"$f"
    RESULTS+=("$name|$ms|$($locator "$f")|${SHOW:-$*}")
    printf '  %-14s %8s s  located: %s\n' "$name" "$(secs "$ms")" "$($locator "$f")" >&2
}

echo "trace_bench: r2 drops tcp/$PORT; each tool traces $DST:$PORT" >&2
SP_MS=()
for i in $(seq 1 "$RUNS"); do
    run_tool "synprobe#$i" located_synprobe "$SP" --trace -p "$PORT" "$DST"
    SP_MS+=("$(cut -d'|' -f2 <<<"${RESULTS[-1]}")")
done
skip() { [[ $SKIP == *" $1 "* ]]; }
skip tcptraceroute || run_tool tcptraceroute located_hops tcptraceroute -n "$DST" "$PORT"
skip traceroute || run_tool "traceroute-T" located_hops traceroute -T -n -p "$PORT" "$DST"
skip mtr || run_tool "mtr-tcp" located_hops mtr --tcp -n -r -P "$PORT" "$DST"
skip scamper || SHOW="scamper -c 'trace -P tcp -d $PORT' -i $DST" \
    run_tool scamper located_hops scamper -c "trace -P tcp -d $PORT" -i "$DST"

# synprobe: median and worst of its runs.
mapfile -t sorted < <(printf '%s\n' "${SP_MS[@]}" | sort -n)
SP_MED=${sorted[$(((${#sorted[@]} - 1) / 2))]}
SP_MAX=${sorted[-1]}
SP_ALL_LOC=yes
for r in "${RESULTS[@]}"; do
    [[ $r != synprobe#* ]] || [[ $(cut -d'|' -f3 <<<"$r") == yes ]] || SP_ALL_LOC=no
done

ratio() { # tool_ms base_ms -> "12.3x"
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'
}

TABLE=bench/out/trace_bench.txt
{
    echo "router-drop scenario (r2-drop): tcp/$PORT to $DST dropped at hop $DROP_HOP ($DROP_ADDR)"
    printf '%-15s %10s  %-34s %12s  %s\n' tool "wall (s)" "located the drop?" "vs synprobe" command
    printf '%s\n' "$(printf '%0.s-' $(seq 1 120))"
    printf '%-15s %10s  %-34s %12s  %s\n' "synprobe" "$(secs "$SP_MED")" \
        "$SP_ALL_LOC ($RUNS/$RUNS runs)" "1.0x" \
        "synprobe --trace -p $PORT $DST  (median of $RUNS; worst $(secs "$SP_MAX") s)"
    [ "$SP_ALL_LOC" = yes ] || printf '%-15s %s\n' "" "some synprobe runs did not locate the drop: see $OUTDIR/"
    for r in "${RESULTS[@]}"; do
        IFS='|' read -r name ms loc cmd <<<"$r"
        [[ $name != synprobe#* ]] || continue
        printf '%-15s %10s  %-34s %12s  %s\n' "$name" "$(secs "$ms")" "$loc" \
            "$(ratio "$ms" "$SP_MED")" "$cmd"
    done
    echo
    goal=FAIL
    tr_ms=""
    for r in "${RESULTS[@]}"; do
        [[ $r != traceroute-T\|* ]] || tr_ms=$(cut -d'|' -f2 <<<"$r")
    done
    if [ -n "$tr_ms" ] && [ "$SP_ALL_LOC" = yes ] && [ "$SP_MAX" -lt 2500 ] &&
        [ "$((SP_MAX * 10))" -le "$tr_ms" ]; then
        goal=PASS
    fi
    if [ -n "$tr_ms" ]; then
        echo "goal (every synprobe run located in < 2.5 s and >= 10x sooner than traceroute -T):" \
            "$goal -- worst synprobe $(secs "$SP_MAX") s, traceroute -T $(secs "$tr_ms") s," \
            "ratio $(ratio "$tr_ms" "$SP_MAX") (worst) / $(ratio "$tr_ms" "$SP_MED") (median)"
    else
        echo "goal: not judged (traceroute -T skipped)"
    fi
    echo "each tool's output: $OUTDIR/<tool>.txt"
} | tee "$TABLE"
