#!/usr/bin/env bash
# scripts/demo.sh -- the README's main command:  sudo bash scripts/demo.sh
#
# From a fresh clone on Debian 12: installs the dependencies (scripts/setup.sh),
# builds synprobe into build/, brings up the path lab (scripts/lab.sh, network
# namespaces sp-demoPID-*), and shows
#   1. one row per lab scenario: synprobe's verdict next to what a plain
#      connect() (`nc -z -w 5`, netcat-openbsd) reports, with the time each took;
#   2. `synprobe --trace --explain` where router r2 drops tcp/8443;
#   3. `synprobe -r` on a sample capture from captures/ (if there is one).
# The lab is removed on exit, whatever happens (trap). Every packet stays in the
# lab: synprobe and nc run inside the lab's client namespace.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "demo: run as root: sudo bash scripts/demo.sh" >&2
    exit 1
fi

BOLD="" OFF=""
if [ -t 1 ]; then BOLD=$'\e[1m' OFF=$'\e[0m'; fi
section() { printf '\n%s== %s ==%s\n' "$BOLD" "$*" "$OFF"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { printf '%d.%02d s' $(($1 / 1000)) $((($1 % 1000) / 10)); } # ms -> "1.23 s"

T_START=$(now_ms)
SUFFIX="demo$$"
CLIENT="sp-$SUFFIX-c"
TMP=$(mktemp -d /tmp/synprobe-demo.XXXXXX)
LAB_UP=0

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ "$LAB_UP" = 1 ]; then
        bash scripts/lab.sh down "$SUFFIX" || true
        echo "demo: lab $SUFFIX removed" >&2
    fi
    rm -rf -- "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ setup
section "setup: dependencies (scripts/setup.sh)"
bash scripts/setup.sh

section "build: cmake into build/"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$TMP/cmake.log" 2>&1 ||
    { cat "$TMP/cmake.log" >&2; exit 1; }
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target synprobe \
    >"$TMP/build.log" 2>&1 || { tail -n 40 "$TMP/build.log" >&2; exit 1; }
SP=$PWD/build/synprobe
echo "built $("$SP" --version)"

section "lab: client -- r1 -- r2 -- r3 -- server (namespaces sp-$SUFFIX-*)"
LAB_UP=1 # from here on, the trap removes whatever part of the lab exists
if ! bash scripts/lab.sh up "$SUFFIX" open >"$TMP/lab.env" 2>"$TMP/lab.log"; then
    cat "$TMP/lab.log" >&2
    exit 1
fi
cat <<'EOF'
client 198.18.1.2 -> hop 1 198.18.1.1 -> hop 2 198.18.2.2 -> hop 3 198.18.3.3 -> server 198.18.4.100 (hop 4)
server: tcp/80 open, tcp/81 closed; tcp/8443 open unless a scenario filters it
EOF

CURRENT=open
scenario() { # apply a lab scenario (lab.sh also checks that it works)
    [ "$1" = "$CURRENT" ] && return 0
    if ! bash scripts/lab.sh scenario "$SUFFIX" "$1" >/dev/null 2>"$TMP/lab.log"; then
        cat "$TMP/lab.log" >&2
        exit 1
    fi
    CURRENT=$1
}

# ------------------------------------------------------- verdict table
# row LABEL SCENARIO ADDR PORT [par]: synprobe, then nc, one after the other
# (so that neither eats the routers' ICMP rate-limit budget of the other);
# with "par", side by side (rows where the answer is silence: no ICMP at all).
ROWS=()
timed() { # OUTFILE CMD...: run CMD, output to OUTFILE, its wall ms to OUTFILE.ms
    local f=$1 t0
    shift
    t0=$(now_ms)
    "$@" >"$f" 2>&1 || true
    echo $(($(now_ms) - t0)) >"$f.ms"
}
row() {
    local label=$1 scen=$2 addr=$3 port=$4 ms_sp ms_nc out line verdict nc_out nc_msg
    scenario "$scen"
    timed "$TMP/sp" ip netns exec "$CLIENT" "$SP" -p "$port" "$addr" &
    [ "${5-}" = par ] || wait $!
    timed "$TMP/nc" ip netns exec "$CLIENT" nc -z -v -n -w 5 "$addr" "$port"
    wait
    out=$(<"$TMP/sp") ms_sp=$(<"$TMP/sp.ms")
    nc_out=$(<"$TMP/nc") ms_nc=$(<"$TMP/nc.ms")
    # The verdict line: TARGET PORT VERDICT REASON HOP RESPONDER TTL RTT.
    line=$(awk -v a="$addr" -v p="$port" '$1 == a && $2 == p' <<<"$out" | head -n 1)
    if [ -n "$line" ]; then
        verdict=$(awk '{ printf "%-11s %-22s %-3s %s", $3, $4, $5, $6 }' <<<"$line")
    else
        verdict="(no verdict line: $(head -n 1 <<<"$out"))"
    fi
    case $nc_out in
        *succeeded*) nc_msg="connected" ;;
        *"(tcp) "*) nc_msg=${nc_out##*(tcp) } ;; # "failed: Connection refused"
        "") nc_msg="(no message)" ;;
        *) nc_msg=$nc_out ;;
    esac
    ROWS+=("$(printf '%-16s %-17s | %-58s %7s | %-36s %7s' "$label" "$addr:$port" \
        "$verdict" "$(secs "$ms_sp")" "$nc_msg" "$(secs "$ms_nc")")")
}

section "1. every scenario: synprobe -p PORT TARGET  vs  nc -z -w 5 TARGET PORT"
echo "(synprobe and nc run in the lab's client namespace; about 30 s in all)"
row "open"             open         198.18.4.100 80
row "closed"           open         198.18.4.100 81
row "no route at r3"   open         198.18.9.9   80
row "host down"        open         198.18.4.200 80
row "client no route"  open         198.19.255.1 80
row "srv-drop"         srv-drop     198.18.4.100 8443 par
row "srv-reject"       srv-reject   198.18.4.100 8443
row "r2-reject"        r2-reject    198.18.4.100 8443
row "r2-rst"           r2-rst       198.18.4.100 8443
row "r2-drop"          r2-drop      198.18.4.100 8443 par # last: the trace below uses it

printf '%s%-16s %-17s | %-58s %7s | %-36s %7s%s\n' "$BOLD" scenario target \
    "synprobe: verdict     reason                 hop responder" time \
    "nc -z -w 5 (plain connect)" time "$OFF"
printf '%s\n' "$(printf '%0.s-' $(seq 1 156))"
# Print in the order of the README: open, closed, the four port filters, routes.
for i in 0 1 5 6 9 7 8 2 3 4; do printf '%s\n' "${ROWS[$i]}"; done
cat <<'EOF'

hop = routers from the client (the server is at hop 4; "-" = silence, no hop known
without --trace). nc only learns an errno (or a timeout after 5 s); synprobe says
which box answered, and how. "filtered" is silence: --trace below says where.
EOF

# ------------------------------------------------------------- trace
section "2. where does it die?  synprobe --trace --explain -p 8443 198.18.4.100  (r2 drops tcp/8443)"
t0=$(now_ms)
ip netns exec "$CLIENT" "$SP" --trace --explain -p 8443 198.18.4.100 || true
echo "(took $(secs $(($(now_ms) - t0))))"

# ---------------------------------------------------------- offline
section "3. offline: synprobe -r on a sample capture (no root needed)"
# Preferably a capture of *other* tools (tcpdump around traceroute -T and nc
# on r2-drop: synprobe locates the drop from their packets), else the first.
shopt -s nullglob
caps=(captures/v4-r2-drop-tcptraceroute.pcap captures/*.pcap captures/*.pcapng)
shopt -u nullglob
if [ "${#caps[@]}" -eq 0 ]; then
    echo "(skipped: no sample capture in captures/ yet -- see captures/README.md)"
else
    if [ "${caps[0]}" = captures/v4-r2-drop-tcptraceroute.pcap ]; then
        echo "(tcpdump on the client while traceroute -T and nc ran against r2-drop)"
    fi
    echo "\$ synprobe -r ${caps[0]}"
    ip netns exec "$CLIENT" "$SP" -r "${caps[0]}" || true
fi

section "done in $(secs $(($(now_ms) - T_START))) -- removing the lab"
