#!/usr/bin/env bash
# scripts/make_captures.sh -- regenerate the project's own captures (captures/*.pcap)
#
# Usage (root; lab namespaces only):
#   scripts/make_captures.sh [OUTDIR]           default OUTDIR: captures/
#   SYNPROBE=/path/to/synprobe scripts/make_captures.sh
#
# Brings up the path lab (scripts/lab.sh, suffix gc$$), switches through its
# scenarios and records one small capture per case inside the client
# namespace, in two ways:
#   (a) synprobe itself:  synprobe -p PORTS TARGET -w OUTDIR/NAME.pcap
#   (b) tcpdump on the client's interface (to-r1) around peer tools:
#       nc -z (kernel connect(), with the kernel's own SYN retransmissions),
#       traceroute -T (TCP traceroute: time-exceeded in the capture),
#       traceroute -6 (UDP), ping.
# Every packet goes only to the lab's namespaces; everything runs inside the
# client namespace; the lab is removed on exit, success or failure.
#
# The captures are fixed inputs once committed: this script is only for
# regenerating them (timestamps, ports and sequence numbers change on every
# run, so regenerate the golden files afterwards:
#   tests/golden_test.sh --update build/synprobe captures
# and READ every changed .expected before accepting it).
#
# tcpdump runs with --immediate-mode: without it, packets still in the ring
# buffer's current block are lost when it is stopped.
#
# Silence needs an end marker: offline, "the end of the capture is its last
# packet", so the captures that must read as filtered/no-response end with a
# ping sent >= 3 s (synprobe's default --wait) after the last SYN.
set -euo pipefail

PROG=make_captures.sh
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB="$ROOT/scripts/lab.sh"
OUT=${1:-$ROOT/captures}
SYNPROBE=${SYNPROBE:-}
if [ -z "$SYNPROBE" ]; then
    for b in "$ROOT/build/synprobe" "$ROOT"/build-*/synprobe; do
        [ -x "$b" ] && { SYNPROBE=$b; break; }
    done
fi
if [ -z "$SYNPROBE" ] || [ ! -x "$SYNPROBE" ]; then echo "$PROG: no synprobe binary (set SYNPROBE=)" >&2; exit 1; fi
[ "$(id -u)" = 0 ] || { echo "$PROG: needs root (network namespaces)" >&2; exit 1; }
for c in tcpdump nc traceroute nft; do
    command -v "$c" >/dev/null || { echo "$PROG: missing $c" >&2; exit 1; }
done
HAVE_PING=1
command -v ping >/dev/null || { HAVE_PING=0; echo "$PROG: no ping (iputils-ping): echo markers replaced by nc to port 80" >&2; }
bash "$LAB" check
mkdir -p -- "$OUT"
OUT=$(cd "$OUT" && pwd)

SFX=gc$$
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
cleanup() {
    local rc=$?
    [ -z "${TD_PID:-}" ] || kill "$TD_PID" 2>/dev/null || true
    bash "$LAB" down "$SFX" >/dev/null 2>&1 || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

C() { ip netns exec "sp-$SFX-c" "$@"; }
R2() { ip netns exec "sp-$SFX-r2" "$@"; }

S4=198.18.4.100 S6=fd53:7970:4::100
DOWN4=198.18.4.200 DOWN6=fd53:7970:4::200
NR4=198.18.9.9 NR6=fd53:7970:9::9

scenario() { log "scenario $1"; bash "$LAB" scenario "$SFX" "$1" >/dev/null 2>&1 || { log "scenario $1 failed"; exit 1; }; }

# (a) synprobe -w
sp() { # sp NAME SYNPROBE-ARGS...
    local name=$1; shift
    rm -f -- "$OUT/$name.pcap"
    C timeout 60 "$SYNPROBE" "$@" -w "$OUT/$name.pcap" >/dev/null || true
    log "wrote $name.pcap ($(stat -c %s "$OUT/$name.pcap") bytes)"
}

# (b) tcpdump around peer tools
FILTER='(tcp or icmp or icmp6) and not ip6 multicast'
td_start() { # td_start NAME [tcpdump args...]
    TD_NAME=$1; shift
    rm -f -- "$OUT/$TD_NAME.pcap" "$OUT/.td.log"
    # A simple command (not the C function), so $! is tcpdump itself
    # (ip netns exec execs it) and td_stop's SIGINT reaches it.
    ip netns exec "sp-$SFX-c" tcpdump -i to-r1 -n -U --immediate-mode -Z root -w "$OUT/$TD_NAME.pcap" "$@" \
        >"$OUT/.td.log" 2>&1 &
    TD_PID=$!
    for _ in $(seq 1 50); do
        grep -q 'listening on' "$OUT/.td.log" 2>/dev/null && break
        sleep 0.1
    done
    sleep 0.2
}
td_stop() {
    sleep 0.3
    kill -INT "$TD_PID" 2>/dev/null || true
    wait "$TD_PID" 2>/dev/null || true
    TD_PID=
    rm -f -- "$OUT/.td.log"
    log "wrote $TD_NAME.pcap ($(stat -c %s "$OUT/$TD_NAME.pcap") bytes)"
}
ncz() { # ncz FAM ADDR PORT SECS: one connect() attempt, result ignored
    C nc -z -n -w "$4" "-$1" "$2" "$3" >/dev/null 2>&1 || true
}
# Echo to the server: evidence that the host is up, and (at the end of a
# capture) the marker that the wait after the last SYN is over.
marker() { # marker FAM ADDR
    if [ "$HAVE_PING" = 1 ]; then
        C ping "-$1" -n -c 2 -i 0.2 -W 1 "$2" >/dev/null 2>&1 || true
    else
        ncz "$1" "$2" 80 1
    fi
}

log "lab $SFX up"
bash "$LAB" up "$SFX" open >/dev/null 2>&1 || { log "lab up failed"; exit 1; }

# ---------------------------------------------------------------- open
scenario open
sp v4-open-closed-synprobe -p 80,81 "$S4"
sp v6-open-closed-synprobe -p 80,81 "$S6"
td_start v4-open-closed-nc "$FILTER"
ncz 4 "$S4" 80 2; ncz 4 "$S4" 81 2
td_stop
td_start v6-open-closed-nc "$FILTER"
ncz 6 "$S6" 80 2; ncz 6 "$S6" 81 2
td_stop
# no route at r3 (ICMP 3/0, 1/0) and host down (r3's ARP/ND fails: 3/1, 1/3)
sp v4-r3-noroute-net-unreachable-synprobe -p 80 "$NR4"
sp v6-r3-noroute-net-unreachable-synprobe -p 80 "$NR6"
td_start v4-host-down-host-unreachable-nc "$FILTER"
ncz 4 "$DOWN4" 80 6
td_stop
sleep 4   # r3 may still be resolving the last v4 SYN: keep its error out of the next capture
td_start v6-host-down-host-unreachable-nc "$FILTER"
ncz 6 "$DOWN6" 80 6
td_stop

# ---------------------------------------------------------------- srv-reject
scenario srv-reject
sp v4-srv-reject-port-unreachable-synprobe -p 8443 "$S4"
sp v6-srv-reject-port-unreachable-synprobe -p 8443 "$S6"

# ---------------------------------------------------------------- srv-drop
scenario srv-drop
# The kernel's SYN and its retransmissions, then >= 3 s of wait, then echo.
td_start v4-srv-drop-no-response-nc "$FILTER"
ncz 4 "$S4" 8443 3
sleep 3.5
marker 4 "$S4"
td_stop
# Deliberately short: the capture stops at the first SYN (tcpdump -c 1).
td_start v4-srv-drop-short-capture-ended -c 1 "tcp dst port 8443"
ncz 4 "$S4" 8443 1
wait "$TD_PID" 2>/dev/null || true
TD_PID=
rm -f -- "$OUT/.td.log"
log "wrote v4-srv-drop-short-capture-ended.pcap"

# ---------------------------------------------------------------- r2-reject
scenario r2-reject
sp v4-r2-reject-admin-prohibited-synprobe -p 8443 "$S4"
sp v6-r2-reject-admin-prohibited-synprobe -p 8443 "$S6"
td_start v4-r2-reject-admin-prohibited-nc "$FILTER"
ncz 4 "$S4" 8443 3
td_stop

# ---------------------------------------------------------------- r2-rst
scenario r2-rst
# Port 80 draws the host's own SYN-ACK (distance 4); 8443 r2's RST (distance 2).
sp v4-r2-rst-middlebox-rst-synprobe -p 80,8443 "$S4"
sp v6-r2-rst-middlebox-rst-synprobe -p 80,8443 "$S6"
td_start v4-r2-rst-middlebox-rst-nc "$FILTER"
ncz 4 "$S4" 80 2; ncz 4 "$S4" 8443 2
td_stop

# ---------------------------------------------------------------- r2-drop
scenario r2-drop
# Echo reaches the host; a TCP traceroute to 8443 dies after hop 2; then a
# connect() times out; then, >= 3 s later, echo again (end marker).
for fam in 4 6; do
    if [ $fam = 4 ]; then t=$S4; else t=$S6; fi
    td_start "v$fam-r2-drop-tcptraceroute" "$FILTER"
    marker $fam "$t"
    C traceroute "-$fam" -n -T -p 8443 -q 1 -m 5 -w 1 "$t" >/dev/null 2>&1 || true
    ncz $fam "$t" 8443 3
    sleep 3.5
    marker $fam "$t"
    td_stop
done
# UDP traceroute (its hops come from ICMP errors quoting UDP) + a TCP connect.
td_start v6-r2-drop-udptraceroute "(tcp or udp or icmp or icmp6) and not ip6 multicast"
C traceroute -6 -n -q 1 -m 5 -w 1 "$S6" >/dev/null 2>&1 || true
ncz 6 "$S6" 8443 3
sleep 3.5
marker 6 "$S6"
td_stop
# synprobe's own --trace
sp v4-r2-drop-synprobe-trace --trace --max-hops 5 -p 8443 "$S4"

# ------------------------------------------- extra rules at r2 (lab ns only)
# Reasons the named scenarios do not produce: ICMP protocol unreachable,
# another unreachable code (ICMPv6 1/6 reject-route), and a SYN proxy
# answering SYN-ACK in the host's name (middlebox-syn-ack).
scenario open
extra() { R2 nft delete table inet gc 2>/dev/null || true; R2 nft -f -; }
extra <<'EOF'
table inet gc {
  chain gc_forward {
    type filter hook forward priority filter; policy accept;
    meta nfproto ipv4 tcp dport 8443 reject with icmp type prot-unreachable
    meta nfproto ipv6 tcp dport 8443 reject with icmpv6 type reject-route
  }
}
EOF
sp v4-r2-proto-unreachable-synprobe -p 8443 "$S4"
sp v6-r2-reject-route-unreachable-other-synprobe -p 8443 "$S6"
extra <<'EOF'
table inet gc {
  chain gc_pre {
    type filter hook prerouting priority raw; policy accept;
    tcp dport 8443 tcp flags syn notrack
  }
  chain gc_forward {
    type filter hook forward priority filter; policy accept;
    tcp dport 8443 ct state invalid,untracked synproxy mss 1460 wscale 7 timestamp sack-perm
    tcp dport 8443 ct state invalid drop
  }
}
EOF
sp v4-r2-synproxy-middlebox-syn-ack-synprobe -p 80,8443 "$S4"
R2 nft delete table inet gc

log "done: $(find "$OUT" -maxdepth 1 -name '*.pcap' | wc -l) captures in $OUT"
log "now: tests/golden_test.sh --update SYNPROBE $OUT, then read every .expected"
