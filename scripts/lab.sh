#!/usr/bin/env bash
# shellcheck disable=SC2317 # (functions reached via both/traps look unreachable)
# scripts/lab.sh -- synprobe "path lab": five network namespaces in a chain
#
#     client (c) -- r1 -- r2 -- r3 -- server (s)
#
# Every address is in 198.18.0.0/15 (RFC 2544 benchmarking) or the ULA
# fd53:7970::/32; nothing in the lab has a route out of it and nothing is ever
# configured in the root namespace (veth pairs are created directly inside the
# lab namespaces). Namespaces are named sp-SUFFIX-{c,r1,r2,r3,s}.
#
# Usage:
#   lab.sh up SUFFIX [SCENARIO[,SCENARIO...]]   build the lab, apply + check
#                                               scenarios; prints an env block
#                                               (KEY=value lines) on stdout
#   lab.sh scenario SUFFIX SCENARIO[,...]       replace the scenario rules of a
#                                               running lab (and check them)
#   lab.sh env SUFFIX                           print the env block again
#   lab.sh down SUFFIX                          kill everything in the lab and
#                                               delete it (idempotent)
#   lab.sh exec SUFFIX NODE CMD...              run CMD in node c|r1|r2|r3|s
#   lab.sh check                                exit 0 if labs can be built
#                                               here, else say why and exit 77
#   lab.sh selftest                             build a lab with a random
#                                               suffix, check every scenario
#                                               for IPv4 + IPv6, print a table
#
# Addresses (fixed; tests rely on them). "inbound" = the router's address on
# the interface towards the client, i.e. the source of its ICMP errors, so the
# hops seen from the client are 198.18.1.1, 198.18.2.2, 198.18.3.3, server.
#
#   link      subnet (v4 / v6)                    left end          right end
#   c  - r1   198.18.1.0/24  fd53:7970:1::/64     c  .2   ::2       r1 .1   ::1
#   r1 - r2   198.18.2.0/24  fd53:7970:2::/64     r1 .1   ::1       r2 .2   ::2
#   r2 - r3   198.18.3.0/24  fd53:7970:3::/64     r2 .2   ::2       r3 .3   ::3
#   r3 - s    198.18.4.0/24  fd53:7970:4::/64     r3 .1   ::1       s  .100 ::100
#
#   hop 1 198.18.1.1 fd53:7970:1::1 (r1)   hop 2 198.18.2.2 fd53:7970:2::2 (r2)
#   hop 3 198.18.3.3 fd53:7970:3::3 (r3)   hop 4 198.18.4.100 fd53:7970:4::100 (s)
#
# Special targets (always present, whatever the scenario):
#   198.18.4.200   fd53:7970:4::200  "host down": on r3's connected subnet but
#                                    configured nowhere; ARP/ND fails at r3, which
#                                    sends host/address unreachable after ~3 s
#   198.18.9.9     fd53:7970:9::9    "no route at r3": r1/r2 forward it, r3 has no
#                                    route -> ICMP 3/0, ICMPv6 1/0
#   198.19.255.1   fd53:7971::1      "no route at the client": the client has no
#                                    default route, only 198.18.0.0/16 and
#                                    fd53:7970::/32 via r1 -> local ENETUNREACH
#
# Ports on the server (both families): 80, 8080, 8443 open (nc listeners);
# 81 closed. Scenario filters act on tcp/8443 (the "filter port").
#
# Scenarios (nftables "table inet sp" in the named node, chains sp_input,
# sp_forward, sp_output):
#   open                 nothing extra
#   srv-drop             s  input:   tcp dport 8443 drop
#   srv-reject           s  input:   tcp dport 8443 reject (ICMP 3/3, ICMPv6 1/4)
#   r2-drop              r2 forward: tcp dport 8443 drop   (alias: r2-drop-port)
#   r2-reject            r2 forward: tcp dport 8443 and 9001-9008 reject with
#                        icmpx admin-prohibited (3/13, 1/1)  (alias:
#                        r2-ratelimit-reject; Linux ICMP rate limits are on by
#                        default: a trace of 8443-8451 or 9001-9008 needs more
#                        ICMP errors from r2 than its burst of about 6)
#   r2-rst               r2 forward: tcp dport 8443 reject with tcp reset
#   r2-quiet             r2 output:  drop the ICMP/ICMPv6 time-exceeded it generates
#   lossy                r2 forward: drop SYNs (SYN set, ACK clear) to tcp/8443 and
#                        ICMP/ICMPv6 echo requests with `numgen inc mod 3 == 2`:
#                        the 3rd, 6th, 9th ... packet is dropped, with separate
#                        counters for IPv4 SYN, IPv6 SYN, echo, echo6. The
#                        counters start at 0 when `up`/`scenario` returns.
#   r3-noroute, host-down, client-noroute
#                        no rules (the targets above always exist); naming them
#                        only adds their check
# Scenarios combine with commas (e.g. r2-quiet,srv-drop), but at most one of
# the tcp/8443 scenarios (srv-drop srv-reject r2-drop r2-reject r2-rst lossy).
#
# Environment: SP_LAB_STATE_DIR (default /run/sp-lab or /tmp/sp-lab) holds
# listener logs; SP_LAB_KEEP_ON_FAIL=1 keeps a lab whose `up` failed.
set -euo pipefail

# ---------------------------------------------------------------- addresses
C4=198.18.1.2;      C6=fd53:7970:1::2
R1C4=198.18.1.1;    R1C6=fd53:7970:1::1       # r1 towards c   (hop 1)
R1R4=198.18.2.1;    R1R6=fd53:7970:2::1       # r1 towards r2
R2L4=198.18.2.2;    R2L6=fd53:7970:2::2       # r2 towards r1  (hop 2)
R2R4=198.18.3.2;    R2R6=fd53:7970:3::2       # r2 towards r3
R3L4=198.18.3.3;    R3L6=fd53:7970:3::3       # r3 towards r2  (hop 3)
R3R4=198.18.4.1;    R3R6=fd53:7970:4::1       # r3 towards s
S4=198.18.4.100;    S6=fd53:7970:4::100       # server         (hop 4)
DOWN4=198.18.4.200; DOWN6=fd53:7970:4::200    # host down (nobody has it)
NORT4=198.18.9.9;   NORT6=fd53:7970:9::9      # r3 has no route
CNRT4=198.19.255.1; CNRT6=fd53:7971::1        # client has no route
LAB4=198.18.0.0/16; LAB6=fd53:7970::/32       # the client's only routes
OPEN_PORTS="80 8080 8443"
CLOSED_PORT=81
FILTER_PORT=8443
REJECT_MORE=9001-9008    # more ports r2-reject rejects (ICMP rate limit tests)
NODES="c r1 r2 r3 s"

SCENARIOS="open srv-drop srv-reject r2-drop r2-reject r2-rst r3-noroute host-down
client-noroute r2-quiet r2-ratelimit-reject lossy r2-drop-port"
PORT_SCENARIOS=" srv-drop srv-reject r2-drop r2-reject r2-rst lossy "

PROG=${0##*/}
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "error: $*"; exit 1; }

SUFFIX=""
ns() { printf 'sp-%s-%s' "$SUFFIX" "$1"; }
nsx() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }
ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$1"; }

set_suffix() {
    [[ ${1-} =~ ^[A-Za-z0-9_]{1,24}$ ]] ||
        die "SUFFIX must be 1-24 characters [A-Za-z0-9_] (got '${1-}')"
    SUFFIX=$1
}

state_dir() {
    local base=${SP_LAB_STATE_DIR:-}
    if [ -z "$base" ]; then
        if [ -d /run ] && [ -w /run ]; then base=/run/sp-lab; else base=/tmp/sp-lab; fi
    fi
    printf '%s/%s' "$base" "$SUFFIX"
}

# ------------------------------------------------------------ scenario list
canon_scenario() {
    case $1 in
        r2-ratelimit-reject) echo r2-reject ;;
        r2-drop-port) echo r2-drop ;;
        *) echo "$1" ;;
    esac
}

# Parses "a,b,c" into the global array SCEN (canonical names, no duplicates).
parse_scenarios() {
    local list=${1:-open} s c port=""
    SCEN=()
    IFS=',' read -r -a _raw <<<"$list"
    [ "${#_raw[@]}" -gt 0 ] || die "empty scenario list"
    for s in "${_raw[@]}"; do
        s=${s//[[:space:]]/}
        [ -n "$s" ] || continue
        # shellcheck disable=SC2086
        printf '%s\n' $SCENARIOS | grep -qx -- "$s" ||
            die "unknown scenario '$s' (known: $(tr '\n' ' ' <<<"$SCENARIOS"))"
        c=$(canon_scenario "$s")
        if [[ $PORT_SCENARIOS == *" $c "* ]]; then
            [ -z "$port" ] || [ "$port" = "$c" ] ||
                die "scenarios '$port' and '$c' both filter tcp/$FILTER_PORT; pick one"
            port=$c
        fi
        [[ " ${SCEN[*]-} " == *" $c "* ]] || SCEN+=("$c")
    done
    [ "${#SCEN[@]}" -gt 0 ] || SCEN=(open)
}

# ------------------------------------------------------------------ nft rules
# Rules per node and chain for the scenarios in SCEN.
declare -A RULES
build_rules() {
    RULES=()
    local s
    for s in "${SCEN[@]}"; do
        case $s in
            srv-drop) RULES[s:input]+="tcp dport $FILTER_PORT counter drop"$'\n' ;;
            srv-reject) RULES[s:input]+="tcp dport $FILTER_PORT counter reject"$'\n' ;;
            r2-drop) RULES[r2:forward]+="tcp dport $FILTER_PORT counter drop"$'\n' ;;
            r2-reject)
                RULES[r2:forward]+="tcp dport { $FILTER_PORT, $REJECT_MORE } counter reject with icmpx admin-prohibited"$'\n' ;;
            r2-rst) RULES[r2:forward]+="tcp dport $FILTER_PORT counter reject with tcp reset"$'\n' ;;
            r2-quiet)
                RULES[r2:output]+="icmp type time-exceeded counter drop"$'\n'
                RULES[r2:output]+="icmpv6 type time-exceeded counter drop"$'\n' ;;
            lossy)
                local syn="tcp dport $FILTER_PORT tcp flags & (syn | ack) == syn"
                RULES[r2:forward]+="meta nfproto ipv4 $syn numgen inc mod 3 == 2 counter drop"$'\n'
                RULES[r2:forward]+="meta nfproto ipv6 $syn numgen inc mod 3 == 2 counter drop"$'\n'
                RULES[r2:forward]+="icmp type echo-request numgen inc mod 3 == 2 counter drop"$'\n'
                RULES[r2:forward]+="icmpv6 type echo-request numgen inc mod 3 == 2 counter drop"$'\n' ;;
            open | r3-noroute | host-down | client-noroute) ;;
            *) die "internal: no rules for scenario $s" ;;
        esac
    done
}

clear_rules() {
    local n
    for n in $NODES; do
        nsx "$n" nft delete table inet sp 2>/dev/null || true
    done
}

# Writes RULES into the nodes (multi-line `nft -f -`; the one-line form fails).
apply_rules() {
    clear_rules
    local n ch any text
    for n in $NODES; do
        any=0
        text="table inet sp {"$'\n'
        for ch in input forward output; do
            [ -n "${RULES[$n:$ch]-}" ] || continue
            any=1
            text+="  chain sp_$ch {"$'\n'
            text+="    type filter hook $ch priority 0; policy accept;"$'\n'
            # shellcheck disable=SC2001
            text+=$(sed 's/^/    /' <<<"${RULES[$n:$ch]}")$'\n'
            text+="  }"$'\n'
        done
        text+="}"$'\n'
        [ "$any" = 1 ] || continue
        nsx "$n" nft -f - <<<"$text" || die "nft failed in $(ns "$n"):"$'\n'"$text"
    done
}

# ------------------------------------------------------------------- checks
ROWS=()
FAILS=0
# row SCENARIO FAMILY CHECK EXPECTED GOT MS
row() {
    local ok=ok
    [ "$4" = "$5" ] || { ok=FAIL; FAILS=$((FAILS + 1)); }
    ROWS+=("$(printf '%-15s %-4s %-34s %-16s %-16s %6s  %s' "$1" "$2" "$3" "$4" "$5" "$6" "$ok")")
    [ "$ok" = ok ] || log "check failed: $1 $2 $3: expected $4, got $5 (${6} ms)"
}
print_rows() {
    printf '%-15s %-4s %-34s %-16s %-16s %6s  %s\n' scenario fam check expected got ms result
    printf '%s\n' "${ROWS[@]}"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# tcp_try FAM ADDR PORT SECONDS: one connect() from the client with nc.
# Sets GOT (open|refused|hostunreach|netunreach|denied|timeout|other) and MS.
tcp_try() {
    local fam=$1 addr=$2 port=$3 secs=$4 t0 out rc
    local w=${secs%%.*}
    [ "${w:-0}" -ge 1 ] 2>/dev/null || w=1
    t0=$(now_ms)
    set +e
    out=$(nsx c timeout "$secs" nc -z -v -n -w "$w" "-$fam" "$addr" "$port" 2>&1)
    rc=$?
    set -e
    MS=$(($(now_ms) - t0))
    if [ "$rc" = 0 ]; then GOT=open
    elif [ "$rc" = 124 ]; then GOT=timeout
    else
        case $out in
            *refused*) GOT=refused ;;
            *"No route to host"*) GOT=hostunreach ;;
            *"Network is unreachable"*) GOT=netunreach ;;
            *"Permission denied"*) GOT=denied ;;
            *"timed out"*) GOT=timeout ;;
            *) GOT=other; log "nc said: $out" ;;
        esac
    fi
}

# expect_tcp SCEN FAM ADDR PORT EXPECTED SECONDS [MIN_MS MAX_MS]
expect_tcp() {
    local got
    tcp_try "$2" "$3" "$4" "$6"
    got=$GOT
    if [ -n "${7-}" ] && [ "$MS" -lt "$7" ]; then got="$GOT<${7}ms"; fi
    if [ -n "${8-}" ] && [ "$MS" -gt "$8" ]; then got="$GOT>${8}ms"; fi
    row "$1" "$2" "tcp $3 $4" "$5" "$got" "$MS"
}

# hop_at FAM TTL ADDR [extra traceroute args]: who answers at TTL (or '*').
hop_at() {
    local fam=$1 ttl=$2 addr=$3
    shift 3
    nsx c timeout 10 traceroute "-$fam" -n -q 1 -N 1 -w 1 -f "$ttl" -m "$ttl" "$@" "$addr" 2>/dev/null |
        awk -v t="$ttl" '$1 == t { print $2; exit }' || true
}

# expect_hop SCEN FAM TTL DST EXPECTED
expect_hop() {
    local t0 got
    t0=$(now_ms)
    got=$(hop_at "$2" "$3" "$4")
    row "$1" "$2" "ttl $3 -> $4" "$5" "${got:-none}" "$(($(now_ms) - t0))"
}

# expect_echo3 SCEN FAM DST EXPECTED: three sequential echo requests (TTL 64)
# answered (+) or not (-), e.g. "++-".
expect_echo3() {
    local t0 out got
    t0=$(now_ms)
    out=$(nsx c timeout 15 traceroute "-$2" -I -n -q 3 -N 1 -w 1 -f 4 -m 4 "$3" 2>/dev/null |
        awk '$1 == 4' || true)
    got=$(awk '{ s = ""; for (i = 2; i <= NF; i++) { if ($i == "*") s = s "-"; else if ($i == "ms") s = s "+" } print s }' <<<"$out")
    row "$1" "$2" "3x echo $3" "$4" "${got:-none}" "$(($(now_ms) - t0))"
}

both() { local f; for f in 4 6; do "$@" "$f"; done; }
a() { local v=$1$2; printf '%s' "${!v}"; }   # a S 4 -> $S4

check_base() {
    local f=$1 p
    for p in $OPEN_PORTS; do expect_tcp base "$f" "$(a S "$f")" "$p" open 5; done
    expect_tcp base "$f" "$(a S "$f")" "$CLOSED_PORT" refused 5
    expect_hop base "$f" 1 "$(a S "$f")" "$(a R1C "$f")"
    expect_hop base "$f" 2 "$(a S "$f")" "$(a R2L "$f")"
    expect_hop base "$f" 3 "$(a S "$f")" "$(a R3L "$f")"
    expect_hop base "$f" 4 "$(a S "$f")" "$(a S "$f")"
}

check_scenario() {
    local s=$1 f=$2 S
    S=$(a S "$f")
    case $s in
        open)
            expect_tcp "$s" "$f" "$S" "$FILTER_PORT" open 5 ;;
        srv-drop | r2-drop)
            expect_tcp "$s" "$f" "$S" "$FILTER_PORT" timeout 2
            expect_tcp "$s" "$f" "$S" 80 open 5 ;;
        srv-reject | r2-rst)
            expect_tcp "$s" "$f" "$S" "$FILTER_PORT" refused 5
            expect_tcp "$s" "$f" "$S" 80 open 5 ;;
        r2-reject)
            if [ "$f" = 4 ]; then
                expect_tcp "$s" "$f" "$S" "$FILTER_PORT" hostunreach 5
            else
                expect_tcp "$s" "$f" "$S" "$FILTER_PORT" denied 5
            fi
            expect_tcp "$s" "$f" "$S" 80 open 5 ;;
        r3-noroute)
            expect_tcp "$s" "$f" "$(a NORT "$f")" 80 netunreach 5 ;;
        host-down)
            expect_tcp "$s" "$f" "$(a DOWN "$f")" 80 hostunreach 6 2500 4500 ;;
        client-noroute)
            expect_tcp "$s" "$f" "$(a CNRT "$f")" 80 netunreach 5 "" 500 ;;
        r2-quiet)
            expect_hop "$s" "$f" 1 "$S" "$(a R1C "$f")"
            expect_hop "$s" "$f" 2 "$S" '*'
            expect_hop "$s" "$f" 3 "$S" "$(a R3L "$f")" ;;
        lossy)
            expect_echo3 "$s" "$f" "$S" "++-"
            local i seq=""
            for i in 1 2 3; do
                tcp_try "$f" "$S" "$FILTER_PORT" 0.8
                case $GOT in open) seq+="+" ;; timeout) seq+="-" ;; *) seq+="?" ;; esac
            done
            row "$s" "$f" "3x tcp $S $FILTER_PORT" "++-" "$seq" "" ;;
        *) die "internal: no check for $s" ;;
    esac
}

# Applies SCEN and checks it; on success the lossy counters are reset.
apply_and_check() {
    build_rules
    apply_rules
    local s
    for s in "${SCEN[@]}"; do both check_scenario "$s"; done
    if [[ " ${SCEN[*]} " == *" lossy "* ]]; then apply_rules; fi
}

# ------------------------------------------------------------------- up/down
print_env() {
    cat <<EOF
SP_LAB_SUFFIX=$SUFFIX
SP_LAB_CLIENT=$(ns c)
SP_LAB_R1=$(ns r1)
SP_LAB_R2=$(ns r2)
SP_LAB_R3=$(ns r3)
SP_LAB_SERVER=$(ns s)
SP_LAB_CLIENT_IF=to-r1
SP_LAB_CLIENT4=$C4
SP_LAB_CLIENT6=$C6
SP_LAB_SERVER4=$S4
SP_LAB_SERVER6=$S6
SP_LAB_HOP1_4=$R1C4
SP_LAB_HOP1_6=$R1C6
SP_LAB_HOP2_4=$R2L4
SP_LAB_HOP2_6=$R2L6
SP_LAB_HOP3_4=$R3L4
SP_LAB_HOP3_6=$R3L6
SP_LAB_SERVER_HOP=4
SP_LAB_DOWN4=$DOWN4
SP_LAB_DOWN6=$DOWN6
SP_LAB_NOROUTE4=$NORT4
SP_LAB_NOROUTE6=$NORT6
SP_LAB_CLIENT_NOROUTE4=$CNRT4
SP_LAB_CLIENT_NOROUTE6=$CNRT6
SP_LAB_OPEN_PORTS='$OPEN_PORTS'
SP_LAB_CLOSED_PORT=$CLOSED_PORT
SP_LAB_FILTER_PORT=$FILTER_PORT
SP_LAB_REJECT_MORE=$REJECT_MORE
SP_LAB_SCENARIO=${SCEN_LIST:-}
EOF
}

# link LEFT LEFT_IF RIGHT RIGHT_IF: veth pair created directly in the two
# namespaces, so nothing (not even a temporary name) appears in the root ns.
link() {
    ip link add "$2" netns "$(ns "$1")" type veth peer name "$4" netns "$(ns "$3")"
    nsx "$1" ip link set "$2" up
    nsx "$3" ip link set "$4" up
}
addr() { nsx "$1" ip addr add "$3" dev "$2"; }
addr6() { nsx "$1" ip -6 addr add "$3" dev "$2" nodad; }
rt() { local n=$1; shift; nsx "$n" ip route add "$@"; }
# nsysctl NODE key=value...: /proc/sys/net is per network namespace, so a
# shell inside the namespace writes the namespace's own settings (no procps).
nsysctl() {
    local n=$1 kv; shift
    for kv in "$@"; do
        # shellcheck disable=SC2016
        nsx "$n" bash -c 'echo "$2" >"/proc/sys/${1//.//}"' _ "${kv%%=*}" "${kv#*=}"
    done
}
rt6() { local n=$1; shift; nsx "$n" ip -6 route add "$@"; }

# Pids in namespace $1, except this script (if run from inside the lab).
ns_pids() {
    ip netns pids "$1" 2>/dev/null | grep -vx -e "$$" -e "${BASHPID:-$$}" || true
}

lab_down() {
    local n name pids i
    for n in $NODES; do
        name=$(ns "$n")
        ns_exists "$name" || continue
        pids=$(ns_pids "$name")
        # shellcheck disable=SC2086
        [ -z "$pids" ] || kill -TERM $pids 2>/dev/null || true
    done
    for n in $NODES; do
        name=$(ns "$n")
        ns_exists "$name" || continue
        for i in 1 2 3 4 5 6 7 8 9 10; do
            pids=$(ns_pids "$name")
            [ -n "$pids" ] || break
            # shellcheck disable=SC2086
            [ "$i" -lt 10 ] || kill -KILL $pids 2>/dev/null || true
            sleep 0.1
        done
        ip netns del "$name" 2>/dev/null || log "warning: could not delete $name"
    done
    rm -rf -- "$(state_dir)" 2>/dev/null || true
}

start_listeners() {
    local dir p a
    dir=$(state_dir)
    mkdir -p -- "$dir"
    for p in $OPEN_PORTS; do
        for a in "$S4" "$S6"; do
            # setsid: immune to the caller's Ctrl-C / hangup; all output to a
            # file, so `eval "$(lab.sh up ...)"` does not wait for it.
            # A simple command (not a function), so $! is nc's own pid (ip
            # and setsid exec it).
            ip netns exec "$(ns s)" setsid nc -d -l -k -n "$a" "$p" \
                </dev/null >>"$dir/listen.log" 2>&1 &
            echo "$! $a $p" >>"$dir/listeners"
        done
    done
    # Wait (bounded) until all six sockets listen.
    local i n want=$(($(wc -w <<<"$OPEN_PORTS") * 2))
    for i in $(seq 1 50); do
        n=$(nsx s ss -Hltn 2>/dev/null | wc -l)
        [ "$n" -ge "$want" ] && return 0
        sleep 0.1
    done
    die "server listeners did not start (see $dir/listen.log)"
}

UP_OK=0
up_cleanup() {
    local rc=$?
    if [ "$UP_OK" != 1 ]; then
        if [ "${SP_LAB_KEEP_ON_FAIL:-0}" = 1 ]; then
            log "up failed; keeping lab $SUFFIX (SP_LAB_KEEP_ON_FAIL=1)"
        else
            log "up failed; removing lab $SUFFIX"
            lab_down
        fi
        [ "$rc" != 0 ] || rc=1
    fi
    exit "$rc"
}

lab_up() {
    set_suffix "${1-}"
    SCEN_LIST=${2:-open}
    parse_scenarios "$SCEN_LIST"
    local n
    for n in $NODES; do
        ! ns_exists "$(ns "$n")" || die "namespace $(ns "$n") already exists (lab.sh down $SUFFIX?)"
    done
    trap up_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    for n in $NODES; do
        ip netns add "$(ns "$n")"
        # Before any link exists: no DAD (fresh links would stall IPv6 ~1 s).
        nsysctl "$n" net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
        nsx "$n" ip link set lo up
    done
    for n in r1 r2 r3; do
        nsysctl "$n" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    done

    link c to-r1 r1 to-c
    link r1 to-r2 r2 to-r1
    link r2 to-r3 r3 to-r2
    link r3 to-s s to-r3

    addr c to-r1 "$C4/24";     addr6 c to-r1 "$C6/64"
    addr r1 to-c "$R1C4/24";   addr6 r1 to-c "$R1C6/64"
    addr r1 to-r2 "$R1R4/24";  addr6 r1 to-r2 "$R1R6/64"
    addr r2 to-r1 "$R2L4/24";  addr6 r2 to-r1 "$R2L6/64"
    addr r2 to-r3 "$R2R4/24";  addr6 r2 to-r3 "$R2R6/64"
    addr r3 to-r2 "$R3L4/24";  addr6 r3 to-r2 "$R3L6/64"
    addr r3 to-s "$R3R4/24";   addr6 r3 to-s "$R3R6/64"
    addr s to-r3 "$S4/24";     addr6 s to-r3 "$S6/64"

    # Client: no default route, only the lab prefixes via r1.
    rt c "$LAB4" via "$R1C4";                  rt6 c "$LAB6" via "$R1C6"
    # r1: towards the server side (incl. the no-route subnet 9) via r2.
    for n in 198.18.3.0/24 198.18.4.0/24 198.18.9.0/24; do rt r1 "$n" via "$R2L4"; done
    for n in fd53:7970:3::/64 fd53:7970:4::/64 fd53:7970:9::/64; do rt6 r1 "$n" via "$R2L6"; done
    # r2: client side via r1, server side (and subnet 9) via r3.
    rt r2 198.18.1.0/24 via "$R1R4";           rt6 r2 fd53:7970:1::/64 via "$R1R6"
    for n in 198.18.4.0/24 198.18.9.0/24; do rt r2 "$n" via "$R3L4"; done
    for n in fd53:7970:4::/64 fd53:7970:9::/64; do rt6 r2 "$n" via "$R3L6"; done
    # r3: client side via r2; deliberately nothing for subnet 9.
    for n in 198.18.1.0/24 198.18.2.0/24; do rt r3 "$n" via "$R2R4"; done
    for n in fd53:7970:1::/64 fd53:7970:2::/64; do rt6 r3 "$n" via "$R2R6"; done
    # Server: the lab via r3.
    rt s "$LAB4" via "$R3R4";                  rt6 s "$LAB6" via "$R3R6"

    start_listeners
    both check_base
    apply_and_check
    print_rows >&2
    [ "$FAILS" = 0 ] || die "$FAILS check(s) failed"
    UP_OK=1
    trap - INT TERM
    log "lab $SUFFIX up (scenario $SCEN_LIST)"
    print_env
}

lab_scenario() {
    set_suffix "${1-}"
    SCEN_LIST=${2:-open}
    parse_scenarios "$SCEN_LIST"
    ns_exists "$(ns c)" || die "lab $SUFFIX is not up"
    apply_and_check
    print_rows >&2
    [ "$FAILS" = 0 ] || die "$FAILS check(s) failed"
    print_env
}

lab_check() {
    local why="" t="sp-chk$$"
    if [ "$(id -u)" != 0 ]; then why="not root"
    else
        for c in ip nft nc traceroute timeout setsid ss; do
            command -v "$c" >/dev/null 2>&1 || why+="missing $c (run scripts/setup.sh); "
        done
        if [ -z "$why" ]; then
            if ip netns add "$t" 2>/dev/null; then
                ip netns exec "$t" ip link set lo up 2>/dev/null || why="ip netns exec failed"
                ip netns exec "$t" nft list tables >/dev/null 2>&1 || why+="nft does not work in a netns; "
                ip netns del "$t" 2>/dev/null || true
            else
                why="cannot create network namespaces (ip netns add failed)"
            fi
        fi
    fi
    if [ -n "$why" ]; then
        echo "$PROG: lab not possible here: $why" >&2
        exit 77
    fi
    echo "$PROG: network namespace labs work here" >&2
}

lab_selftest() {
    local sfx t0
    sfx="st$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
    set_suffix "$sfx"
    UPLOG=$(mktemp)
    trap 'lab_down; rm -f -- "$UPLOG"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    t0=$(now_ms)
    log "selftest: lab $sfx"
    # `up` in a child (it has its own traps); its check table is shown only
    # on failure (the same base checks are repeated below for the table).
    if ! bash "$0" up "$sfx" open >/dev/null 2>"$UPLOG"; then
        cat -- "$UPLOG" >&2
        log "selftest: up failed"
        exit 1
    fi
    both check_base
    local s
    for s in srv-drop srv-reject r2-drop r2-reject r2-rst r3-noroute host-down \
        client-noroute r2-quiet lossy; do
        SCEN=("$s")
        apply_and_check
    done
    # A combination, and the aliases.
    SCEN=(r2-quiet srv-drop)
    apply_and_check
    local got
    got=$( (parse_scenarios r2-ratelimit-reject,r2-drop-port) 2>/dev/null && echo accepted || echo rejected)
    row parse - "r2-ratelimit-reject,r2-drop-port" rejected "$got" ""
    got=$(bash "$0" exec "$sfx" s ip -4 -o addr show dev to-r3 | awk '{print $4}' || true)
    row exec - "exec s ip addr" "$S4/24" "${got:-none}" ""
    print_rows
    echo "selftest: $((${#ROWS[@]} - FAILS))/${#ROWS[@]} checks ok in $(($(now_ms) - t0)) ms"
    [ "$FAILS" = 0 ]
}

# --------------------------------------------------------------------- main
main() {
local cmd=${1-} node
[ $# -eq 0 ] || shift
case $cmd in
    up) [ $# -ge 1 ] || die "usage: $PROG up SUFFIX [SCENARIO[,...]]"; lab_up "$@" ;;
    down)
        [ $# -eq 1 ] || die "usage: $PROG down SUFFIX"
        set_suffix "$1"; lab_down ;;
    scenario) [ $# -eq 2 ] || die "usage: $PROG scenario SUFFIX SCENARIO[,...]"; lab_scenario "$@" ;;
    env) [ $# -eq 1 ] || die "usage: $PROG env SUFFIX"; set_suffix "$1"; SCEN_LIST=""; print_env ;;
    exec)
        [ $# -ge 3 ] || die "usage: $PROG exec SUFFIX c|r1|r2|r3|s CMD..."
        set_suffix "$1"
        case $2 in c | r1 | r2 | r3 | s) ;; *) die "unknown node '$2' (c|r1|r2|r3|s)" ;; esac
        node=$2; shift 2
        exec ip netns exec "$(ns "$node")" "$@" ;;
    check) lab_check ;;
    selftest) lab_selftest ;;
    -h | --help | help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
    *) die "usage: $PROG up|down|scenario|env|exec|check|selftest ... (see --help)" ;;
esac
}

# One line, so bash has read the whole file before anything runs (editing the
# script while a selftest runs must not change the running copy).
main "$@"; exit $?
