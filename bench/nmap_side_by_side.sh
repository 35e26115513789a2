#!/usr/bin/env bash
# bench/nmap_side_by_side.sh -- synprobe and `nmap -sS -Pn --reason` on every
# path-lab scenario, IPv4 and IPv6, one table with both answers and the wall
# time each took.   sudo bash bench/nmap_side_by_side.sh
#
# Builds a lab (scripts/lab.sh, namespaces sp-nmapPID-*) and removes it on exit.
# Both tools run inside the lab's client namespace, one after the other (never
# at the same time: the routers' ICMP rate limits are per destination, so a
# concurrent tool would eat the other's answers), with their default settings
# plus -n for nmap (no reverse DNS). The table is also written to
# bench/out/nmap_side_by_side.txt.
#
# Environment: SYNPROBE=path (default build/synprobe, built if missing),
# FAMILIES="4 6" (default both).
# shellcheck disable=SC2034 # the address variables are read indirectly by a()
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "$0: run as root (sudo)" >&2; exit 1; }
FAMILIES=${FAMILIES:-4 6}
SP=${SYNPROBE:-$PWD/build/synprobe}
if [ ! -x "$SP" ]; then
    bash scripts/setup.sh
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target synprobe >/dev/null
    SP=$PWD/build/synprobe
fi
command -v nmap >/dev/null || { echo "$0: nmap missing (bash scripts/setup.sh)" >&2; exit 1; }

SUFFIX="nmap$$"
CLIENT="sp-$SUFFIX-c"
LAB_UP=0
TMP=$(mktemp -d /tmp/synprobe-nmap.XXXXXX)
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ "$LAB_UP" != 1 ] || bash scripts/lab.sh down "$SUFFIX" || true
    rm -rf -- "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { printf '%d.%02d s' $(($1 / 1000)) $((($1 % 1000) / 10)); }

LAB_UP=1
bash scripts/lab.sh up "$SUFFIX" open >/dev/null 2>"$TMP/lab.log" || { cat "$TMP/lab.log" >&2; exit 1; }
CURRENT=open
scenario() {
    [ "$1" = "$CURRENT" ] && return 0
    bash scripts/lab.sh scenario "$SUFFIX" "$1" >/dev/null 2>"$TMP/lab.log" ||
        { cat "$TMP/lab.log" >&2; exit 1; }
    CURRENT=$1
}

S4=198.18.4.100 S6=fd53:7970:4::100
DOWN4=198.18.4.200 DOWN6=fd53:7970:4::200
NORT4=198.18.9.9 NORT6=fd53:7970:9::9
CNRT4=198.19.255.1 CNRT6=fd53:7971::1
a() { local v=$1$2; printf '%s' "${!v}"; } # a S 4 -> $S4

FMT='%-15s %-3s %-24s | %-11s %-22s %-3s %-17s %7s | %-9s %-44s %7s\n'
OUT=bench/out/nmap_side_by_side.txt
mkdir -p bench/out
{
    # shellcheck disable=SC2059
    printf "$FMT" scenario fam target "synprobe" reason hop responder time "nmap" reason time
    printf '%s\n' "$(printf '%0.s-' $(seq 1 176))"
} | tee "$OUT"

row() { # SCENARIO FAM ADDR PORT
    local scen=$1 f=$2 addr=$3 port=$4 t0 ms_sp ms_nm out line v r h resp nstate nreason
    scenario "$scen"
    t0=$(now_ms)
    out=$(ip netns exec "$CLIENT" "$SP" -p "$port" "$addr" 2>&1) || true
    ms_sp=$(($(now_ms) - t0))
    line=$(awk -v a="$addr" -v p="$port" '$1 == a && $2 == p' <<<"$out" | head -n 1)
    if [ -n "$line" ]; then
        read -r _ _ v r h resp _ <<<"$line"
    else
        v="?" r="$(head -n 1 <<<"$out" | cut -c1-22)" h="" resp=""
    fi
    t0=$(now_ms)
    local six=""
    [ "$f" = 6 ] && six=-6
    out=$(ip netns exec "$CLIENT" nmap $six -n -sS -Pn --reason -p "$port" "$addr" 2>&1) || true
    ms_nm=$(($(now_ms) - t0))
    # "8443/tcp filtered https-alt admin-prohibited from 198.18.2.2 ttl 63"
    line=$(awk -v p="$port/tcp" '$1 == p' <<<"$out" | head -n 1)
    if [ -n "$line" ]; then
        nstate=$(awk '{ print $2 }' <<<"$line")
        nreason=$(awk '{ s = $4; for (i = 5; i <= NF; i++) s = s " " $i; print s }' <<<"$line")
    else
        nstate="(none)"
        nreason=$(grep -m1 -iE 'fail|error|warn' <<<"$out" || head -n 1 <<<"$out")
        case $nreason in *"failed to determine route"*) nreason="error: failed to determine route" ;; esac
    fi
    # shellcheck disable=SC2059
    printf "$FMT" "$scen" "$f" "$addr:$port" "$v" "$r" "$h" "$resp" "$(secs "$ms_sp")" \
        "$nstate" "${nreason:0:44}" "$(secs "$ms_nm")" | tee -a "$OUT"
}

# Scenarios that act on the filter port 8443 exclude one another; run each
# family under one scenario before switching.
for scen in open srv-drop srv-reject r2-drop r2-reject r2-rst r2-quiet lossy; do
    for f in $FAMILIES; do
        if [ "$scen" = open ]; then
            row open "$f" "$(a S "$f")" 80
            row open "$f" "$(a S "$f")" 81
            row r3-noroute "$f" "$(a NORT "$f")" 80
            row host-down "$f" "$(a DOWN "$f")" 80
            row client-noroute "$f" "$(a CNRT "$f")" 80
        else
            row "$scen" "$f" "$(a S "$f")" 8443
        fi
    done
done
cat <<'EOF' | tee -a "$OUT"

synprobe: verdict, reason, hop (routers from the client; "-" = unknown without
--trace), responder. nmap: state and --reason. lossy: r2 drops every 3rd SYN to
8443 (one counter shared by both tools). r3-noroute, host-down and
client-noroute rows run under the "open" scenario (their targets always exist).
EOF
echo "table written to $OUT" >&2
