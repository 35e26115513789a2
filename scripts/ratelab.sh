#!/usr/bin/env bash
# scripts/ratelab.sh - the "rate lab" of DESIGN.md: a client and a server
# that answers for a whole prefix, in two network namespaces.
#
#   client sp-SUFFIX-rc  198.18.0.1/24  fd53:7972::1/64   (veth "to-s")
#   server sp-SUFFIX-rs  198.18.0.2/24  fd53:7972::2/64   (veth "to-c")
#          answers for 198.18.128.0/17 (ip route add local ... dev lo),
#          silently drops every odd address of it (nftables), so half of
#          the probes are answered; ports 80-99 listen (SYN-ACK), every
#          other port answers RST.
#
# Counters in the server's "table inet sp" (chain sp_output): "answers"
# counts the SYN-ACKs and RSTs the server really sent to the client, and
# "synacks" the SYN-ACKs alone, independently of any scanner's own report.
#
# "quiet" (after "up"; benchmarks) makes the lab cheaper to drive, as the
# zmap and masscan documentation advise for scanning hosts: the client's own
# kernel no longer answers the replies (SYN-ACKs and RSTs from the prefix are
# dropped at the client's ingress hook, after packet capture has seen them,
# so it sends no RST back), and the server answers every SYN with a SYN
# cookie (stateless: without the client's RST there would otherwise be
# half-open connections, and SYN-ACK retransmissions counted twice). And the
# server's kernel runs in a thread of its own, as it would on its own
# machine, instead of inside the scanner's send call: its veth end takes
# packets through NAPI (GRO on, and TSO off on the client's end so that
# every frame qualifies) in a threaded NAPI poller (needs ethtool). Its
# queue is finite: SYNs it cannot take are dropped, and never answered.
#
# usage: ratelab.sh up|quiet|down|answers|synacks|reset SUFFIX
# Nothing is configured in the root namespace; no route leads out of the lab.
set -euo pipefail

PREFIX=198.18.128.0/17
cmd=${1:-}
suf=${2:-}
[[ "$suf" =~ ^[A-Za-z0-9_]{1,24}$ ]] || { echo "ratelab: bad suffix" >&2; exit 2; }
C="sp-$suf-rc"
S="sp-$suf-rs"

down() {
    for ns in "$C" "$S"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    done
    sleep 0.1
    for ns in "$C" "$S"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
}

nft_rules() {
    ip netns exec "$S" nft -f - <<NFT
table inet sp {
    counter answers { }
    counter synacks { }
    chain sp_input {
        type filter hook prerouting priority -300; policy accept;
        ip daddr $PREFIX ip daddr & 0.0.0.1 == 0.0.0.1 drop
    }
    chain sp_output {
        type filter hook output priority 0; policy accept;
        ip daddr 198.18.0.1 tcp flags & (syn | rst) != 0 counter name answers
        ip daddr 198.18.0.1 tcp flags & (syn | ack) == syn | ack counter name synacks
    }
}
NFT
}

case "$cmd" in
up)
    down
    trap 'down' ERR
    for ns in "$C" "$S"; do
        ip netns add "$ns"
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
            net.ipv6.conf.default.accept_dad=0
        ip -n "$ns" link set lo up
    done
    ip -n "$C" link add to-s type veth peer name to-c netns "$S"
    ip -n "$C" addr add 198.18.0.1/24 dev to-s
    ip -n "$S" addr add 198.18.0.2/24 dev to-c
    ip -n "$C" -6 addr add fd53:7972::1/64 dev to-s nodad
    ip -n "$S" -6 addr add fd53:7972::2/64 dev to-c nodad
    ip -n "$C" link set to-s up
    ip -n "$S" link set to-c up
    ip -n "$C" route add "$PREFIX" via 198.18.0.2
    ip -n "$S" route add local "$PREFIX" dev lo
    # a SYN flood of our own making: no SYN cookies, room in the backlog
    ip netns exec "$S" sysctl -qw net.ipv4.tcp_syncookies=0 \
        net.ipv4.tcp_max_syn_backlog=262144 net.core.somaxconn=65535
    nft_rules
    for port in $(seq 80 99); do
        setsid ip netns exec "$S" nc -dlkn -s 0.0.0.0 -p "$port" \
            >/dev/null 2>&1 &
    done
    sleep 0.3
    # check: an even address answers, an odd one is silent
    ip netns exec "$C" nc -z -w 2 198.18.128.2 80 ||
        { echo "ratelab: 198.18.128.2:80 does not answer" >&2; exit 1; }
    if ip netns exec "$C" nc -z -w 1 198.18.128.3 80 2>/dev/null; then
        echo "ratelab: 198.18.128.3 answers but should be dropped" >&2; exit 1
    fi
    ip netns exec "$S" nft reset counters table inet sp >/dev/null
    trap - ERR
    echo "SP_RATELAB_CLIENT=$C"
    echo "SP_RATELAB_SERVER=$S"
    echo "SP_RATELAB_PREFIX=$PREFIX"
    ;;
quiet)
    ip netns exec "$C" nft -f - <<NFT
table netdev sp_quiet {
    chain replies {
        type filter hook ingress device "to-s" priority 0; policy accept;
        ip saddr $PREFIX tcp flags & (syn | rst) != 0 drop
    }
}
NFT
    ip netns exec "$S" sysctl -qw net.ipv4.tcp_syncookies=2
    if command -v ethtool >/dev/null; then
        ip netns exec "$S" ethtool -K to-c gro on rx-gro-list on
        ip netns exec "$C" ethtool -K to-s tso off
        ip netns exec "$S" sh -c 'echo 1 >/sys/class/net/to-c/threaded'
    fi
    ;;
down) down ;;
answers | synacks)
    ip netns exec "$S" nft list counter inet sp "$cmd" |
        sed -nE 's/.*packets ([0-9]+).*/\1/p'
    ;;
reset) ip netns exec "$S" nft reset counters table inet sp >/dev/null ;;
*) echo "usage: ratelab.sh up|quiet|down|answers|synacks|reset SUFFIX" >&2; exit 2 ;;
esac
