#!/usr/bin/env bash
# tests/lab_test.sh SYNPROBE SOURCE_DIR [GROUP...]
#
# Live probing against the project's own namespace lab (scripts/lab.sh):
# every verdict of shared/DESIGN.md over IPv4 and IPv6, checked field by
# field from --json. Groups (default: all of them, in this order):
#   v4, v6  open, closed, srv-drop, srv-reject, r2-drop, r2-reject, r2-rst,
#           no route at r3, host down, no route at the client; -w FILE then
#           -r FILE gives the same target records (minus rtt) for several
#   trace   --trace: r2-drop (8443 alone, and 80+8443 in one run), r2-reject,
#           srv-drop, r2-quiet (quiet router), r2-quiet+srv-drop, lossy
#   misc    not permitted (user nobody: exit 4), unknown host (exit 3), a
#           host name (its record carries "name"), broadcast / network /
#           multicast refused (exit 2) unless --force
#
# Every packet stays inside the lab: synprobe and every other tool run in
# the client namespace (ip netns exec sp-SUFFIX-c ...). Each lab has its own
# suffix (lt<group><pid>_<n>) and is torn down on exit, failure or signal.
# A test that depends on ICMP errors from a router gets a fresh lab (each
# namespace has its own ICMP rate-limit state).
#
# Prints one PASS/FAIL line per check (INFO lines report what is observed
# but not asserted), then exactly "lab: N passed, M failed"; exits 0 only if
# M == 0. Where labs cannot be built (not root, no netns, tools missing) it
# prints "SKIPPED: ..." and exits 77, or 1 when CI=true.
set -u

if [ "$#" -lt 2 ]; then
    echo "usage: $0 SYNPROBE SOURCE_DIR [v4|v6|trace|misc|all]..." >&2
    exit 2
fi
bin=$1
srcdir=$2
shift 2
groups=("$@")
[ "${#groups[@]}" -gt 0 ] || groups=(all)
[ "${groups[*]}" != all ] || groups=(v4 v6 trace misc)
labsh=$srcdir/scripts/lab.sh

skip() {
    if [ "${CI:-}" = true ]; then
        echo "lab_test: CI=true and the lab cannot run: $* -- FAILING" >&2
        echo "lab: 0 passed, 1 failed"
        exit 1
    fi
    echo "=================================================================="
    echo "SKIPPED: lab tests (${groups[*]}) not run: $*"
    echo "=================================================================="
    exit 77
}

[ -x "$bin" ] || { echo "lab_test: $bin is not executable" >&2; exit 1; }
[ -r "$labsh" ] || { echo "lab_test: $labsh not found" >&2; exit 1; }
command -v jq >/dev/null 2>&1 || skip "jq is missing (run scripts/setup.sh)"
command -v setpriv >/dev/null 2>&1 || skip "setpriv is missing (util-linux)"
if ! why=$(bash "$labsh" check 2>&1); then
    skip "${why:-lab.sh check failed}"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/synprobe-lab.XXXXXX") || exit 1
LABS=()       # suffixes of labs this run created (torn down on exit)
NETNS_ETC=()  # /etc/netns/NS directories this run created
WD=""
PASSED=0
FAILED=0
T_START=$(date +%s%N)

DONE=0
cleanup() {
    local s d
    trap '' INT TERM
    if [ "$DONE" = 0 ]; then
        FAILED=$((FAILED + 1))
        echo "FAIL [lab_test] run ended early: expected all groups to finish"
        echo "lab: $PASSED passed, $FAILED failed"
    fi
    [ -z "$WD" ] || kill "$WD" 2>/dev/null
    for s in ${LABS[@]+"${LABS[@]}"}; do
        bash "$labsh" down "$s" >/dev/null 2>&1 ||
            echo "lab_test: warning: lab.sh down $s failed" >&2
    done
    for d in ${NETNS_ETC[@]+"${NETNS_ETC[@]}"}; do rm -rf -- "$d"; done
    rmdir /etc/netns 2>/dev/null
    rm -rf -- "$tmp"
}
trap cleanup EXIT
trap 'echo "lab_test: interrupted" >&2; exit 130' INT
trap 'echo "lab_test: terminated (time limit?)" >&2; exit 143' TERM

# Watchdog below CTest's TIMEOUT (which would SIGKILL us and leave labs
# behind): TERM ourselves so that the EXIT trap still tears down.
LIMIT=${SP_LAB_TEST_LIMIT:-200}
(
    trap 'kill "$s" 2>/dev/null; exit 0' TERM
    sleep "$LIMIT" &
    s=$!
    wait "$s" && kill -TERM $$ 2>/dev/null
) &
WD=$!

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ------------------------------------------------------------------ results
pass() { PASSED=$((PASSED + 1)); printf 'PASS [%s] %s: %s\n' "$1" "$2" "$3"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL [%s] %s: expected %s, got %s\n' "$1" "$2" "$3" "$4"; }
info() { printf 'INFO [%s] %s\n' "$1" "$2"; }
# check CTX WHAT EXPECTED GOT
check() { if [ "$3" = "$4" ]; then pass "$1" "$2" "$3"; else fail "$1" "$2" "$3" "$4"; fi; }

# --------------------------------------------------------------- addresses
declare -A A=(
    [S4]=198.18.4.100 [S6]=fd53:7970:4::100
    [R14]=198.18.1.1 [R16]=fd53:7970:1::1
    [R24]=198.18.2.2 [R26]=fd53:7970:2::2
    [R34]=198.18.3.3 [R36]=fd53:7970:3::3
    [DOWN4]=198.18.4.200 [DOWN6]=fd53:7970:4::200
    [NORT4]=198.18.9.9 [NORT6]=fd53:7970:9::9
    [CNRT4]=198.19.255.1 [CNRT6]=fd53:7971::1
)

# -------------------------------------------------------------------- labs
CUR=""   # suffix of the lab in use
NLAB=0
GTAG=x
# lab_new SCENARIO: a fresh lab (the previous one of this group is removed).
lab_new() {
    [ -z "$CUR" ] || lab_drop
    NLAB=$((NLAB + 1))
    local s="lt${GTAG}$$_$NLAB" t0
    t0=$(now_ms)
    LABS+=("$s")
    if ! bash "$labsh" up "$s" "$1" >"$tmp/lab.env" 2>"$tmp/lab.err"; then
        fail "lab $1" "lab.sh up" "exit 0" "failure: $(grep -E 'FAIL|error' "$tmp/lab.err" | head -5 | tr '\n' '|')"
        CUR=""
        return 1
    fi
    CUR=$s
    info "lab $1" "lab.sh up $s $1: $(($(now_ms) - t0)) ms"
}
# lab_scen SCENARIO: switch the running lab to another scenario.
lab_scen() {
    local t0
    t0=$(now_ms)
    [ -n "$CUR" ] || { fail "lab $1" "lab.sh scenario" "a running lab" "none"; return 1; }
    if ! bash "$labsh" scenario "$CUR" "$1" >"$tmp/lab.env" 2>"$tmp/lab.err"; then
        fail "lab $1" "lab.sh scenario" "exit 0" "failure: $(grep -E 'FAIL|error' "$tmp/lab.err" | head -5 | tr '\n' '|')"
        return 1
    fi
    info "lab $1" "lab.sh scenario $CUR $1: $(($(now_ms) - t0)) ms"
}
lab_drop() {
    [ -n "$CUR" ] || return 0
    bash "$labsh" down "$CUR" >/dev/null 2>&1 || echo "lab_test: warning: lab.sh down $CUR failed" >&2
    CUR=""
}
# incl CMD...: run CMD in the lab's client namespace. Never call a shell
# function with a redirection (incl ... >file): a signal trap that runs
# inside it would write its report into that file; redirect the real
# command instead, as sp does.
incl() { ip netns exec "sp-$CUR-c" "$@"; }

# ----------------------------------------------------------------- synprobe
OUT=$tmp/out
ERR=$tmp/err
RC=0
MS=0
# sp ARGS...: synprobe in the client namespace; stdout in $OUT, stderr in
# $ERR, status in RC, wall time in MS.
sp() {
    local t0
    t0=$(now_ms)
    ip netns exec "sp-$CUR-c" timeout -k 5 60 "$bin" "$@" >"$OUT" 2>"$ERR" </dev/null
    RC=$?
    MS=$(($(now_ms) - t0))
    if [ "$RC" -ge 124 ] && [ "$RC" -le 137 ]; then
        echo "lab_test: synprobe $* ended with status $RC; stderr: $(head -c 400 "$ERR")" >&2
    fi
}

# jq helpers for the expressions below: row(T) is "addr syn echo note" of the
# hop whose probe TTL is T ("" when there is no such hop).
JQDEFS='def row(t): [.hops[]? | select(.ttl == t) | (.addr, .syn, .echo, .note) | tostring] | join(" ");
def notes: [.hops[]? | .note // empty] | unique | join(",");'

# tline TARGET PORT [FILE]: the target record(s) for TARGET:PORT.
tline() {
    jq -c --arg t "$1" --argjson p "$2" \
        'select(.type == "target" and .target == $t and .port == $p)' "${3:-$OUT}" 2>/dev/null
}

# expect CTX TARGET PORT EXPR=VALUE...: one target record for TARGET:PORT,
# and each jq EXPR (a bare key means .key) on it gives VALUE (jq -r; several
# results joined by ","; null is "null"). The last "=" separates EXPR from
# VALUE, so EXPR may contain "==".
expect() {
    local ctx=$1 t=$2 p=$3 line n kv k v got
    shift 3
    line=$(tline "$t" "$p")
    n=$(grep -c . <<<"$line")
    [ -n "$line" ] || n=0
    if [ "$n" != 1 ]; then
        fail "$ctx" "records for $t:$p" 1 "$n (exit $RC, stderr: $(head -c 300 "$ERR" | tr '\n' '|'))"
        return 1
    fi
    for kv in "$@"; do
        k=${kv%=*}
        v=${kv##*=}
        [[ ! $k =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || k=.$k
        got=$(jq -r "$JQDEFS $k" <<<"$line" 2>&1 | paste -sd, -)
        check "$ctx" "${kv%=*}" "$v" "$got"
    done
}

# expect_run CTX STATUS NTARGETS: exit status, NTARGETS target lines and a
# final summary line, nothing on stderr but maybe sanitizer noise.
expect_run() {
    local ctx=$1 n last
    check "$ctx" "exit status" "$2" "$RC"
    n=$(jq -r 'select(.type == "target") | .type' "$OUT" 2>/dev/null | grep -c .)
    last=$(tail -n 1 "$OUT" | jq -r .type 2>/dev/null)
    check "$ctx" "output" "$3 target + summary" "$n target + ${last:-nothing}"
}

# The verdict each scenario must give, per family (DESIGN.md tables).
# verdict_of KIND FAMILY -> prints EXPR=VALUE words (no spaces in them).
verdict_of() {
    local k=$1 f=$2 S=${A[S$2]}
    case $k in
        open) echo "verdict=open reason=syn-ack hop=4 responder=$S reply_ttl=61 errno=null icmp_type=null" ;;
        closed) echo "verdict=closed reason=rst hop=4 responder=$S reply_ttl=61 errno=ECONNREFUSED icmp_type=null" ;;
        srv-drop | r2-drop) echo "verdict=filtered reason=no-response hop=null responder=null reply_ttl=null errno=ETIMEDOUT" ;;
        srv-reject)
            echo "verdict=rejected reason=icmp-port-unreachable hop=4 responder=$S errno=ECONNREFUSED"
            if [ "$f" = 4 ]; then echo "icmp_type=3 icmp_code=3"; else echo "icmp_type=1 icmp_code=4"; fi ;;
        r2-reject)
            echo "verdict=rejected reason=icmp-admin-prohibited hop=2 responder=${A[R2$f]} reply_ttl=63"
            if [ "$f" = 4 ]; then echo "errno=EHOSTUNREACH icmp_type=3 icmp_code=13"
            else echo "errno=EACCES icmp_type=1 icmp_code=1"; fi ;;
        r2-rst) echo "verdict=rejected reason=middlebox-rst hop=2 responder=$S reply_ttl=63 errno=ECONNREFUSED icmp_type=null" ;;
        r3-noroute)
            echo "verdict=unreachable reason=icmp-net-unreachable hop=3 responder=${A[R3$f]} errno=ENETUNREACH"
            if [ "$f" = 4 ]; then echo "icmp_type=3 icmp_code=0"; else echo "icmp_type=1 icmp_code=0"; fi ;;
        host-down)
            echo "verdict=unreachable reason=icmp-host-unreachable hop=3 responder=${A[R3$f]} errno=EHOSTUNREACH"
            if [ "$f" = 4 ]; then echo "icmp_type=3 icmp_code=1"; else echo "icmp_type=1 icmp_code=3"; fi ;;
        client-noroute) echo "verdict=unreachable reason=no-route hop=0 responder=null reply_ttl=null errno=ENETUNREACH" ;;
        *) echo "lab_test: internal: no verdict for $k" >&2; return 1 ;;
    esac
}

# expectv CTX TARGET PORT KIND FAMILY [EXPR=VALUE...]: expect with the
# verdict of KIND plus the extra checks.
expectv() {
    local w=()
    # shellcheck disable=SC2207 # verdict_of prints words without spaces
    w=($(verdict_of "$4" "$5"))
    expect "$1" "$2" "$3" "${w[@]}" "${@:6}"
}
# replay CTX PCAP: synprobe -r PCAP --json gives, for every target record of
# the live run just made (except no-route: nothing reached the wire), a
# record equal to it minus the rtt fields, and the same exit status.
replay() {
    local ctx="$1 replay" pcap=$2 live_rc=$RC l t p r diff n=0
    cp -- "$OUT" "$tmp/live.out"
    sp -r "$pcap" --json
    check "$ctx" "exit status (-r as live)" "$live_rc" "$RC"
    while IFS= read -r l; do
        t=$(jq -r .target <<<"$l")
        p=$(jq -r .port <<<"$l")
        [ "$(jq -r .reason <<<"$l")" != no-route ] || continue
        n=$((n + 1))
        r=$(tline "$t" "$p")
        if [ -z "$r" ] || [ "$(grep -c . <<<"$r")" != 1 ]; then
            fail "$ctx" "$t:$p" "one record" "$(grep -c . <<<"$r") records"
            continue
        fi
        diff=$(jq -rn --argjson a "$l" --argjson b "$r" '
            def nortt: walk(if type == "object" then del(.rtt_ms) else . end);
            ($a | nortt) as $x | ($b | nortt) as $y |
            [($x | keys_unsorted[]), ($y | keys_unsorted[])] | unique |
            map(select($x[.] != $y[.]) | "\(.)=\($y[.] | tojson) (live \($x[.] | tojson))") |
            join("; ")')
        if [ -z "$diff" ]; then
            pass "$ctx" "$t:$p" "$(jq -r '"\(.verdict)/\(.reason)"' <<<"$l"), record equal minus rtt"
        else
            fail "$ctx" "$t:$p" "$(jq -r '"\(.verdict)/\(.reason)"' <<<"$l") and the live record minus rtt" \
                "$(jq -r '"\(.verdict)/\(.reason)"' <<<"$r"); differs: $diff"
        fi
    done < <(jq -c 'select(.type == "target")' "$tmp/live.out")
    [ "$n" -gt 0 ] || fail "$ctx" "targets to compare" ">0" 0
    cp -- "$tmp/live.out" "$OUT"
    RC=$live_rc
}

# one_err_line CTX PATTERN...: stderr is exactly one line starting
# "synprobe: " and matching every PATTERN (grep -Ei); stdout is empty.
one_err_line() {
    local ctx=$1 pat line
    shift
    line=$(grep -v -e '^==[0-9]*==' "$ERR" | head -c 300 | tr '\n' '|')
    if [ "$(wc -l <"$ERR")" = 1 ] && grep -q '^synprobe: ' "$ERR"; then
        pass "$ctx" "stderr" "one line: $(cat "$ERR")"
    else
        fail "$ctx" "stderr" "one line 'synprobe: ...'" "$(wc -l <"$ERR") lines: $line"
    fi
    for pat in "$@"; do
        if grep -Eqi -- "$pat" "$ERR"; then pass "$ctx" "stderr mentions /$pat/" yes
        else fail "$ctx" "stderr mentions /$pat/" yes "no: $line"; fi
    done
    check "$ctx" "stdout" "empty" "$([ -s "$OUT" ] && echo "$(wc -c <"$OUT") bytes" || echo empty)"
}

# ============================================================== group v4/v6
group_family() {
    local f=$1 S=${A[S$1]} c k
    GTAG=v$f
    c="v$f"

    # One lab for the scenarios whose answers do not come from a router's
    # ICMP error: open, closed, client no-route, srv-drop, srv-reject,
    # r2-drop, r2-rst.
    if lab_new open; then
        sp -p 80,8080 "$S" --json
        expect_run "$c open" 0 2
        expectv "$c open" "$S" 80 open "$f"
        expectv "$c open" "$S" 8080 open "$f"

        sp -p 80,81 "$S" --json -w "$tmp/open$f.pcap"
        expect_run "$c open+closed" 1 2
        expectv "$c open+closed" "$S" 80 open "$f"
        expectv "$c closed" "$S" 81 closed "$f"
        replay "$c open+closed" "$tmp/open$f.pcap"

        sp -p 80 "${A[CNRT$f]}" --json
        expect_run "$c client-noroute" 1 1
        expectv "$c client-noroute" "${A[CNRT$f]}" 80 client-noroute "$f"
        check "$c client-noroute" "wall time < 2000 ms (nothing to wait for)" yes "$([ "$MS" -lt 2000 ] && echo yes || echo "no: $MS ms")"

        for k in srv-drop srv-reject r2-drop r2-rst; do
            lab_scen "$k" || continue
            sp -p 8443 "$S" --json -w "$tmp/$k$f.pcap"
            expect_run "$c $k" 1 1
            expectv "$c $k" "$S" 8443 "$k" "$f"
            case $k in srv-drop | r2-rst) replay "$c $k" "$tmp/$k$f.pcap" ;; esac
        done
    fi

    # ICMP errors from routers: fresh labs.
    if lab_new r2-reject; then
        sp -p 8443 "$S" --json -w "$tmp/r2-reject$f.pcap"
        expect_run "$c r2-reject" 1 1
        expectv "$c r2-reject" "$S" 8443 r2-reject "$f"
        replay "$c r2-reject" "$tmp/r2-reject$f.pcap"
    fi
    if lab_new open; then
        sp -p 80 "${A[NORT$f]}" --json
        expect_run "$c r3-noroute" 1 1
        expectv "$c r3-noroute" "${A[NORT$f]}" 80 r3-noroute "$f"
        info "$c r3-noroute" "wall time $MS ms"

        sp -p 80 "${A[DOWN$f]}" --json -w "$tmp/down$f.pcap"
        expect_run "$c host-down" 1 1
        expectv "$c host-down" "${A[DOWN$f]}" 80 host-down "$f"
        info "$c host-down" "wall time $MS ms, rtt_ms $(tline "${A[DOWN$f]}" 80 | jq -r .rtt_ms)"
        replay "$c host-down" "$tmp/down$f.pcap"
    fi
    lab_drop
}

# ================================================================ group trace
# ttl 1 and 2 answer time-exceeded for both kinds (r1, r2)
TC4=("row(1)=198.18.1.1 time-exceeded time-exceeded null" "row(2)=198.18.2.2 time-exceeded time-exceeded null")
TC6=("row(1)=fd53:7970:1::1 time-exceeded time-exceeded null" "row(2)=fd53:7970:2::2 time-exceeded time-exceeded null")
group_trace() {
    local f S c TC=()
    GTAG=trc

    if lab_new r2-drop; then
        for f in 4 6; do
            S=${A[S$f]}
            if [ "$f" = 4 ]; then TC=("${TC4[@]}"); else TC=("${TC6[@]}"); fi
            c="trace v$f r2-drop"
            sp --trace -p 8443 "$S" --json
            expect_run "$c" 1 1
            expect "$c" "$S" 8443 verdict=filtered reason=no-response hop=2 responder=null \
                "${TC[@]}" \
                "row(3)=${A[R3$f]} none time-exceeded null" \
                "row(4)=$S none echo-reply null" \
                ".hops[-1].ttl=4"

            c="trace v$f r2-drop 80+8443"
            sp --trace -p 80,8443 "$S" --json -w "$tmp/trace-r2drop$f.pcap"
            expect_run "$c" 1 2
            expect "$c" "$S" 80 verdict=open reason=syn-ack hop=4 responder="$S" \
                "${TC[@]}" \
                "row(3)=${A[R3$f]} time-exceeded time-exceeded null" \
                "row(4)=$S syn-ack echo-reply null" \
                ".hops[-1].ttl=4"
            expect "$c" "$S" 8443 verdict=filtered reason=no-response hop=2 responder=null \
                "${TC[@]}" \
                "row(3)=${A[R3$f]} none time-exceeded null" \
                "row(4)=$S none echo-reply null" \
                ".hops[-1].ttl=4"
            replay "$c" "$tmp/trace-r2drop$f.pcap"
        done
    fi

    # router ICMP (time-exceeded + admin-prohibited from r2): fresh lab
    if lab_new r2-reject; then
        for f in 4 6; do
            S=${A[S$f]}
            if [ "$f" = 4 ]; then TC=("${TC4[@]}"); else TC=("${TC6[@]}"); fi
            c="trace v$f r2-reject"
            sp --trace -p 8443 "$S" --json
            expect_run "$c" 1 1
            expectv "$c" "$S" 8443 r2-reject "$f" \
                "${TC[@]}" \
                ".hops[] | select(.ttl == 3) | .syn=icmp-admin-prohibited" \
                ".hops[] | select(.ttl == 4) | .echo=echo-reply" \
                ".hops[-1].ttl=4"
            info "$c" "hops: $(tline "$S" 8443 | jq -c '[.hops[] | "\(.ttl) \(.addr) syn=\(.syn) echo=\(.echo)"]')"
        done
        # Eight ports r2 refuses: more ICMP errors than its burst of about
        # 6 (then 1/s). Every port is still rejected at hop 2 by r2 (the
        # retries of the verdict probes are paced on r2 and go first), and
        # no row of r2 reads as a quiet router: its silent rows are noted
        # rate-limited.
        local p np
        for f in 4 6; do
            S=${A[S$f]}
            c="trace v$f r2-reject rate-limited"
            sp --trace -p 9001-9008 "$S" --json
            expect_run "$c" 1 8
            for p in 9001 9002 9003 9004 9005 9006 9007 9008; do
                expectv "$c" "$S" "$p" r2-reject "$f" \
                    "row(1) | split(\" \")[0]=${A[R1$f]}" \
                    "row(2) | split(\" \")[0]=${A[R2$f]}" \
                    "[.hops[] | select(.note == \"quiet\")] | length=0"
            done
            np=$(jq -s '[.[] | select(.type == "target") | .hops[] | select(.note == "rate-limited")] | length' "$OUT")
            check "$c" "rows noted rate-limited (r1 and r2 spent their burst)" yes "$([ "${np:-0}" -gt 0 ] && echo yes || echo "no ($np)")"
            info "$c" "wall time $MS ms; $np rows noted rate-limited; 9008: $(tline "$S" 9008 | jq -c '[.hops[]? | "\(.ttl) \(.addr) syn=\(.syn) echo=\(.echo) \(.note)"]')"
        done
    fi

    # a RST forged at r2 (TTL evidence), and the late host-unreachable of a
    # down host matched to its own probe at hop 3: fresh lab (ICMP budgets)
    if lab_new r2-rst; then
        for f in 4 6; do
            S=${A[S$f]}
            if [ "$f" = 4 ]; then TC=("${TC4[@]}"); else TC=("${TC6[@]}"); fi
            c="trace v$f r2-rst"
            sp --trace -p 8443 "$S" --json
            expect_run "$c" 1 1
            expectv "$c" "$S" 8443 r2-rst "$f"
            info "$c" "hops: $(tline "$S" 8443 | jq -c '[.hops[]? | "\(.ttl) \(.addr) syn=\(.syn) echo=\(.echo)"]')"
            c="trace v$f host-down"
            sp --trace -p 80 "${A[DOWN$f]}" --json
            expect_run "$c" 1 1
            expectv "$c" "${A[DOWN$f]}" 80 host-down "$f" \
                "${TC[@]}" ".hops[-1].ttl=4" \
                ".hops[] | select(.ttl == 4) | .syn=icmp-host-unreachable"
            info "$c" "wall time $MS ms; hops: $(tline "${A[DOWN$f]}" 80 | jq -c '[.hops[]? | "\(.ttl) \(.addr) syn=\(.syn) echo=\(.echo)"]')"
        done
    fi

    if lab_new srv-drop; then
        for f in 4 6; do
            S=${A[S$f]}
            if [ "$f" = 4 ]; then TC=("${TC4[@]}"); else TC=("${TC6[@]}"); fi
            c="trace v$f srv-drop"
            sp --trace -p 8443 "$S" --json
            expect_run "$c" 1 1
            expect "$c" "$S" 8443 verdict=filtered reason=no-response hop=3 responder=null \
                "${TC[@]}" \
                "row(3)=${A[R3$f]} time-exceeded time-exceeded null" \
                "row(4)=$S none echo-reply null" \
                ".hops[-1].ttl=4"
        done
    fi

    # r2 never sends time-exceeded: a quiet hop, not the end of the path.
    if lab_new r2-quiet; then
        for f in 4 6; do
            S=${A[S$f]}
            if [ "$f" = 4 ]; then TC=("${TC4[@]}"); else TC=("${TC6[@]}"); fi
            c="trace v$f r2-quiet"
            sp --trace -p 8443 "$S" --json
            expect_run "$c" 0 1
            expectv "$c" "$S" 8443 open "$f" \
                "row(1)=${A[R1$f]} time-exceeded time-exceeded null" \
                "row(2)=null none none quiet" \
                "row(3)=${A[R3$f]} time-exceeded time-exceeded null" \
                "row(4)=$S syn-ack echo-reply null" \
                ".hops[-1].ttl=4"
        done
        if lab_scen r2-quiet,srv-drop; then
            for f in 4 6; do
                S=${A[S$f]}
                if [ "$f" = 4 ]; then TC=("${TC4[@]}"); else TC=("${TC6[@]}"); fi
                c="trace v$f r2-quiet+srv-drop"
                sp --trace -p 8443 "$S" --json
                expect_run "$c" 1 1
                expect "$c" "$S" 8443 verdict=filtered reason=no-response hop=3 responder=null \
                    "row(1)=${A[R1$f]} time-exceeded time-exceeded null" \
                    "row(2)=null none none quiet" \
                    "row(3)=${A[R3$f]} time-exceeded time-exceeded null" \
                    "row(4)=$S none echo-reply null" \
                    ".hops[-1].ttl=4"
            done
        fi
    fi

    # Deterministic loss at r2 (every 3rd SYN to 8443 and every 3rd echo
    # request, per family; counters start at 0): plain probes 1 and 2 pass,
    # probe 3's first SYN (#2) is dropped (a retry, #3, must find the port
    # open). The trace's full-TTL SYN (#4) passes and tells the distance;
    # its TTL-3 SYN (#5) vanishes beyond r2, and only its retry draws r3's
    # time-exceeded: hop 3 carries the note `loss`, never rate-limited or
    # quiet (r3 sent far fewer ICMP errors than its burst). Probe 4 follows.
    if lab_new lossy; then
        local i
        for f in 4 6; do
            S=${A[S$f]}
            if [ "$f" = 4 ]; then TC=("${TC4[@]}"); else TC=("${TC6[@]}"); fi
            for i in 1 2 3 trace 4; do
                if [ "$i" = trace ]; then
                    c="lossy v$f trace"
                    sp --trace -p 8443 "$S" --json
                    expect_run "$c" 0 1
                    expectv "$c" "$S" 8443 open "$f" \
                        ".hops[] | select(.ttl <= 3) | .syn=time-exceeded,time-exceeded,time-exceeded" \
                        ".hops[-1].ttl=4" \
                        "[.hops[] | select(.note == \"loss\") | .ttl | tostring] | join(\",\")=3" \
                        "[.hops[] | select(.note != null and .note != \"loss\")] | length=0" \
                        "[.hops[] | select(.syn == \"none\" and .echo == \"none\" and .note == null)] | length=0"
                    info "$c" "notes: [$(tline "$S" 8443 | jq -r "$JQDEFS notes")], verdicts $(tline "$S" 8443 | jq -c .verdicts), $(tline "$S" 8443 | jq '.hops | length') hops, $MS ms"
                    continue
                fi
                c="lossy v$f probe $i"
                sp -p 8443 "$S" --json
                expect_run "$c" 0 1
                expectv "$c" "$S" 8443 open "$f"
                info "$c" "verdicts $(tline "$S" 8443 | jq -c .verdicts), $MS ms"
            done
        done
    fi
    lab_drop
}

# ================================================================= group misc
group_misc() {
    local c ns d runbin
    GTAG=mi
    lab_new open || return 0
    ns="sp-$CUR-c"

    # Not permitted: user nobody in the client namespace.
    c="misc not-permitted"
    runbin=$bin
    if ! ip netns exec "$ns" setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$bin" 2>/dev/null; then
        d=$(mktemp -d "${TMPDIR:-/tmp}/synprobe-nobody.XXXXXX")
        chmod 755 "$d"
        cp -- "$bin" "$d/synprobe" && chmod 755 "$d/synprobe"
        runbin=$d/synprobe
        info "$c" "$bin is not executable by nobody: using a copy in $d"
    fi
    ip netns exec "$ns" timeout -k 5 30 setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$runbin" -p 80 "${A[S4]}" --json >"$OUT" 2>"$ERR" </dev/null
    RC=$?
    [ "$runbin" = "$bin" ] || rm -rf -- "$(dirname "$runbin")"
    check "$c" "exit status" 4 "$RC"
    one_err_line "$c" root 'CAP_NET_RAW'

    # Names: resolved inside the client namespace only, from a hosts file
    # (and a resolver on the namespace's own loopback: nothing leaves).
    d=/etc/netns/$ns
    if mkdir -p "$d"; then
        NETNS_ETC+=("$d")
        printf '%s lab-server\n%s lab-server\n' "${A[S4]}" "${A[S6]}" >"$d/hosts"
        printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$d/resolv.conf"
    fi
    c="misc unknown-host"
    sp -p 80 no-such-host.invalid --json
    check "$c" "exit status" 3 "$RC"
    one_err_line "$c" 'no-such-host\.invalid'
    if [ -f "$d/hosts" ]; then
        sp -4 -p 80 lab-server --json
        expect_run "misc name -4" 0 1
        expect "misc name -4" "${A[S4]}" 80 verdict=open name=lab-server
        sp -6 -p 80 lab-server --json
        expect_run "misc name -6" 0 1
        expect "misc name -6" "${A[S6]}" 80 verdict=open name=lab-server
    fi

    # Broadcast / network / multicast: refused (exit 2) unless --force.
    local a
    for a in 198.18.1.255 198.18.1.0 224.0.0.1 ff02::1; do
        c="misc refuse $a"
        sp -p 80 "$a" --json
        check "$c" "exit status" 2 "$RC"
        one_err_line "$c" 'force'
    done
    c="misc --force 198.18.1.255"
    sp -p 80 198.18.1.255 --force --json
    info "$c" "route: $(incl ip route get 198.18.1.255 | head -1)"
    expect_run "$c" 1 1
    # Sent on the client's link, nobody answers a SYN or (by default) an
    # echo to a broadcast address: silence.
    expect "$c" 198.18.1.255 80 verdict=filtered reason=no-response
    # 198.18.4.255 is the broadcast address of r3-server's /24, which the
    # client cannot know (its only route is 198.18.0.0/16 via r1).
    c="misc 198.18.4.255"
    sp -p 80 198.18.4.255 --json
    info "$c" "exit $RC in $MS ms: $(tline 198.18.4.255 80 | jq -c '{verdict, reason, hop, responder}') stderr: $(head -c 200 "$ERR" | tr '\n' '|')"
    lab_drop
}

# ===================================================================== main
for g in "${groups[@]}"; do
    t0=$(now_ms)
    case $g in
        v4) group_family 4 ;;
        v6) group_family 6 ;;
        trace) group_trace ;;
        misc) group_misc ;;
        *) echo "lab_test: unknown group '$g' (v4 v6 trace misc all)" >&2; FAILED=$((FAILED + 1)) ;;
    esac
    info "$g" "group took $(($(now_ms) - t0)) ms"
done
info all "total $((($(date +%s%N) - T_START) / 1000000)) ms"
DONE=1
echo "lab: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
