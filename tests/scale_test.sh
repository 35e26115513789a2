#!/usr/bin/env bash
# Many targets (CTest label "lab"), in the rate lab (scripts/ratelab.sh):
#   shards   4 shards run one after another cover every (address, port) of
#            198.18.128.0/24 x 80-83 exactly once: one record per pair
#            across the 4 outputs, and in their -w captures one SYN per pair
#            (--retries 0);
#   verdicts even addresses answer (open), odd ones are dropped (filtered);
#   stream   JSON lines of a scan are whole, one summary per shard;
#   rate     a 20,000 probes/s scan takes about as long as it should;
#   link     without -w the probes leave through a packet socket: the same
#            verdicts, and the silent pairs are reported as their --wait
#            passes, while the scan still runs;
#   retries  with --retries 1 a silent pair is reported only after its
#            second try (two SYNs for each odd address, one for the even).
# usage: scale_test.sh SYNPROBE SOURCE_DIR
set -uo pipefail
SYNPROBE=$1 SRC=$2
LAB="$SRC/scripts/ratelab.sh"
pass=0 fail=0
ok() { echo "PASS $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

if ! why=$(bash "$SRC/scripts/lab.sh" check 2>&1); then
    echo "SKIPPED: the lab cannot be built here: $why"
    [ "${CI:-}" = "true" ] && exit 1
    exit 77
fi
SUF="sc$$"
TMP=$(mktemp -d)
cleanup() { bash "$LAB" down "$SUF" >/dev/null 2>&1; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
if ! bash "$LAB" up "$SUF" >/dev/null 2>"$TMP/up.log"; then
    cat "$TMP/up.log"
    echo "FAIL rate lab up"
    echo "scale: 0 passed, 1 failed"
    exit 1
fi
C="sp-$SUF-rc"
N=4
for i in $(seq 0 $((N - 1))); do
    ip netns exec "$C" "$SYNPROBE" -p 80-83 198.18.128.0/24 --shards $N \
        --shard "$i" --rate 20000 --retries 0 --wait 1 --json \
        -w "$TMP/shard$i.pcap" >"$TMP/shard$i.json" 2>"$TMP/shard$i.err"
done
cat "$TMP"/shard*.json >"$TMP/all.json"
pairs=$(grep -c '"type":"target"' "$TMP/all.json")
uniq=$(grep '"type":"target"' "$TMP/all.json" |
    jq -r '"\(.target):\(.port)"' | sort -u | wc -l)
want=$((254 * 4))
if [ "$pairs" -eq "$want" ] && [ "$uniq" -eq "$want" ]; then
    ok "shards: $N shards gave $pairs records for $want pairs, none twice"
else
    bad "shards: $pairs records, $uniq distinct, want $want"
fi
summaries=$(grep -c '"type":"summary"' "$TMP/all.json")
[ "$summaries" -eq "$N" ] && ok "stream: one summary per shard" ||
    bad "stream: $summaries summaries for $N shards"
if jq -e . "$TMP/all.json" >/dev/null 2>&1; then
    ok "stream: every line is whole JSON"
else
    bad "stream: a line is not JSON"
fi
# one SYN per pair on the wire, across the shards' captures
syns=$(for i in $(seq 0 $((N - 1))); do
    tcpdump -nr "$TMP/shard$i.pcap" 'tcp[tcpflags] == tcp-syn' 2>/dev/null |
        awk '{for (i = 1; i < NF; i++) if ($i == ">") print $(i + 1)}' |
        sed 's/:$//'
done | sort | uniq -c | awk '{print $1}' | sort -u | tr '\n' ' ')
nsyn=$(for i in $(seq 0 $((N - 1))); do
    tcpdump -nr "$TMP/shard$i.pcap" 'tcp[tcpflags] == tcp-syn' 2>/dev/null
done | wc -l)
if [ "$syns" = "1 " ] && [ "$nsyn" -eq "$want" ]; then
    ok "shards: the captures hold exactly one SYN for each of the $want pairs"
else
    bad "shards: SYNs per pair '$syns', $nsyn SYNs in all"
fi
wrong=$(grep '"type":"target"' "$TMP/all.json" | jq -r '
    (.target | split(".")[3] | tonumber) as $h |
    select(($h % 2 == 0 and .verdict != "open") or
           ($h % 2 == 1 and .verdict != "filtered")) | "\(.target):\(.port) \(.verdict)"' |
    head -3)
if [ -z "$wrong" ]; then
    ok "verdicts: even addresses open, odd addresses filtered"
else
    bad "verdicts: $wrong"
fi
# rate: 2,540 probes at 20,000/s take about 0.13 s plus the 1 s cool-down
s=$(date +%s%N)
ip netns exec "$C" "$SYNPROBE" -p 80-89 198.18.128.0/24 --rate 20000 \
    --retries 0 --wait 1 --json >"$TMP/rate.json" 2>/dev/null
e=$((($(date +%s%N) - s) / 1000000))
if [ "$e" -ge 1100 ] && [ "$e" -le 4000 ]; then
    ok "rate: 2,540 probes at 20,000/s plus the cool-down in $e ms"
else
    bad "rate: $e ms for 2,540 probes at 20,000/s (want 1100-4000)"
fi
# link: 5,080 probes at 2,000/s take 2.5 s, --wait 0.5: most silent pairs
# are reported while probes still go out, before the last open record
ip netns exec "$C" "$SYNPROBE" -p 80-99 198.18.128.0/24 --rate 2000 \
    --retries 0 --wait 0.5 --json -v >"$TMP/link.json" 2>"$TMP/link.err"
want=$((254 * 20))
check_pairs() { # file what
    local n u w
    n=$(grep -c '"type":"target"' "$1")
    u=$(grep '"type":"target"' "$1" | jq -r '"\(.target):\(.port)"' |
        sort -u | wc -l)
    w=$(grep '"type":"target"' "$1" | jq -r '
        (.target | split(".")[3] | tonumber) as $h |
        select(($h % 2 == 0 and .verdict != "open") or
               ($h % 2 == 1 and .verdict != "filtered")) |
        "\(.target):\(.port) \(.verdict)"' | head -3)
    if [ "$n" -eq "$want" ] && [ "$u" -eq "$want" ] && [ -z "$w" ]; then
        ok "$2: $n records for $want pairs, even open, odd filtered"
    else
        bad "$2: $n records, $u distinct, want $want; wrong: $w"
    fi
}
check_pairs "$TMP/link.json" link
if grep -q "of 254 targets sent below IP" "$TMP/link.err"; then
    ok "link: the probes left through the packet socket"
else
    bad "link: not sent below IP: $(head -c 300 "$TMP/link.err")"
fi
last_open=$(grep -n '"verdict":"open"' "$TMP/link.json" | tail -1 | cut -d: -f1)
early=$(head -n "${last_open:-0}" "$TMP/link.json" | grep -c '"verdict":"filtered"')
if [ "$early" -ge 1000 ]; then
    ok "link: $early silent pairs reported while the scan still ran"
else
    bad "link: only $early filtered records before the last open one"
fi
# retries: the first pass's silence is not reported; every odd pair is
# tried twice, every even one once
want=$((254 * 10))
ip netns exec "$C" "$SYNPROBE" -p 80-89 198.18.128.0/24 --rate 2000 \
    --retries 1 --wait 0.5 --json -w "$TMP/retry.pcap" \
    >"$TMP/retry.json" 2>/dev/null
check_pairs "$TMP/retry.json" retries
tries=$(tcpdump -nr "$TMP/retry.pcap" 'tcp[tcpflags] == tcp-syn' 2>/dev/null |
    awk '{for (i = 1; i < NF; i++) if ($i == ">") print $(i + 1)}' |
    sed 's/:$//' | sort | uniq -c |
    awk '{split($2, a, "."); print (a[4] % 2 ? "odd" : "even") $1}' |
    sort | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' ')
if [ "$tries" = "even1x1270 odd2x1270 " ]; then
    ok "retries: two SYNs for each silent pair, one for each open one"
else
    bad "retries: SYNs per pair: $tries"
fi
echo "scale: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
