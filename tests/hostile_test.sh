#!/usr/bin/env bash
# hostile_test.sh SYNPROBE [REPLAY]
#
# Hand-made broken capture files, one per kind of damage (FACTS.md 4.7),
# each read with `synprobe -r FILE --json` under a timeout. Every run must end
# in one of three clean ways, never in a crash, a hang or a sanitizer report:
#   ok       exit 0 or 1, stdout is JSON Lines ending in a summary with
#            "incomplete":false, stderr empty or only "synprobe: " lines;
#   open     exit 3, exactly one stderr line "synprobe: ...", no stdout
#            (libpcap or synprobe refuses the file before any record);
#   partial  exit 3, exactly one stderr line "synprobe: ...", and the results
#            of the records before the damage on stdout, ending in a summary
#            with "incomplete":true and the expected packet count.
# Some damage is reported at open by one libpcap version and at the first
# record by another: those accept either (kind "error").
#
# The files are written by the Python generator below into a temp dir. The
# packets are the SYN / SYN-ACK pair of tests/test_decode.c: 192.0.2.1:40000
# -> 198.51.100.7:443, ISN 0x11223344. Needs python3 (already a test
# dependency). Last line: "hostile: N passed, M failed".
set -u

if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
    echo "usage: $0 SYNPROBE [REPLAY]" >&2
    exit 2
fi
bin=$1
replay=${2:-}
[ -x "$bin" ] || { echo "hostile: $bin is not executable" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/synprobe-hostile.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# Writes the files and $tmp/cases.tsv: name, kind, packets ("-" if any),
# text stderr must hold ("-" if none), a verdict some target must have ("-").
python3 - "$tmp" <<'EOF' || { echo "hostile: generator failed" >&2; exit 1; }
import os
import struct
import sys

out = sys.argv[1]

SYN = bytes.fromhex(
    "02 00 00 00 00 02 02 00 00 00 00 01 08 00 45 00 "
    "00 3c 12 34 40 00 40 06 3c 4c c0 00 02 01 c6 33 "
    "64 07 9c 40 01 bb 11 22 33 44 00 00 00 00 a0 02 "
    "fa f0 00 00 00 00 02 04 05 b4 04 02 08 0a 00 01 "
    "e2 40 00 00 00 00 01 03 03 07")
SYNACK = bytes.fromhex(
    "02 00 00 00 00 02 02 00 00 00 00 01 08 00 45 00 "
    "00 3c 00 00 40 00 39 06 55 80 c6 33 64 07 c0 00 "
    "02 01 01 bb 9c 40 a0 b0 c0 d0 11 22 33 45 a0 12 "
    "fe 88 00 00 00 00 02 04 05 b4 04 02 08 0a 00 ab "
    "cd ef 00 01 e2 40 01 03 03 07")
assert len(SYN) == 74 and len(SYNACK) == 74
ETH = 1
RAW = 101          # LINKTYPE_RAW
NULL = 0
TS = 1000          # seconds; the SYN-ACK follows 10 ms later


def pcap_hdr(linktype=ETH, snaplen=65535, magic=0xa1b2c3d4, major=2, minor=4):
    return struct.pack("<IHHiIII", magic, major, minor, 0, 0, snaplen,
                       linktype)


def rec(data, sec=TS, usec=0, caplen=None, wirelen=None):
    caplen = len(data) if caplen is None else caplen
    wirelen = len(data) if wirelen is None else wirelen
    return struct.pack("<IIII", sec, usec, caplen, wirelen) + data


def pair():
    return rec(SYN) + rec(SYNACK, usec=10000)


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def block(btype, body, total=None, trailer=None, endian="<"):
    n = 12 + len(body)
    total = n if total is None else total
    trailer = total if trailer is None else trailer
    return (struct.pack(endian + "II", btype, total) + body +
            struct.pack(endian + "I", trailer))


def opt(code, value, endian="<"):
    return struct.pack(endian + "HH", code, len(value)) + pad4(value)


def shb(endian="<"):
    body = struct.pack(endian + "IHHq", 0x1a2b3c4d, 1, 0, -1)
    return block(0x0a0d0d0a, body, endian=endian)


def idb(linktype=ETH, options=b"", endian="<"):
    body = struct.pack(endian + "HHI", linktype, 0, 65535) + options
    if options:
        body += struct.pack(endian + "HH", 0, 0)
    return block(1, body, endian=endian)


def epb(data, usec=TS * 1000000, iface=0, caplen=None, endian="<", **kw):
    caplen = len(data) if caplen is None else caplen
    body = struct.pack(endian + "IIIII", iface, usec >> 32, usec & 0xffffffff,
                       caplen, len(data)) + pad4(data)
    return block(6, body, endian=endian, **kw)


def ng_pair(iface=(0, 0)):
    return (epb(SYN, iface=iface[0]) +
            epb(SYNACK, usec=TS * 1000000 + 10000, iface=iface[1]))


# IPv4 header damage inside otherwise valid frames
ihl15 = bytearray(SYN[:14 + 24])
ihl15[14] = 0x4f                       # IHL 15 = 60 bytes, only 24 captured
iplen = bytearray(SYN)
iplen[16:18] = b"\xff\xff"             # total length 0xffff, 60 there

cases = [
    # --- classic pcap: the file header -----------------------------------
    ("empty", b"", "open", "-", "-", "-"),
    ("short-file-header", pcap_hdr()[:10], "open", "-", "-", "-"),
    ("bad-magic", struct.pack("<I", 0xdeadbeef) + pcap_hdr()[4:] + pair(),
     "open", "-", "-", "-"),
    ("version-1.0", pcap_hdr(major=1, minor=0) + pair(), "open", "-", "-", "-"),
    ("unknown-linktype-65000", pcap_hdr(linktype=65000) + pair(), "open", "-",
     "unsupported link type", "-"),
    ("snaplen-0", pcap_hdr(snaplen=0) + pair(), "ok", "2", "-", "open"),
    ("snaplen-ffffffff", pcap_hdr(snaplen=0xffffffff) + pair(), "ok", "2", "-",
     "open"),
    ("big-endian-nanosecond", struct.pack(">IHHiIII", 0xa1b23c4d, 2, 4, 0, 0,
                                          65535, ETH) +
     struct.pack(">IIII", TS, 0, 74, 74) + SYN +
     struct.pack(">IIII", TS, 10000000, 74, 74) + SYNACK, "ok", "2", "-",
     "open"),
    # --- classic pcap: the records ----------------------------------------
    ("short-record-header", pcap_hdr() + pair() + rec(SYN)[:8], "partial",
     "2", "-", "open"),
    ("short-record-data", pcap_hdr() + pair() + rec(SYN)[:16 + 20], "partial",
     "2", "-", "open"),
    ("caplen-over-snaplen", pcap_hdr(snaplen=64) +
     rec(SYN + b"\0" * 980) + rec(SYNACK, usec=10000), "ok", "2", "-", "-"),
    ("caplen-0", pcap_hdr() + rec(b"", wirelen=74) + pair() +
     rec(b"", wirelen=0), "ok", "4", "-", "open"),
    ("caplen-fffffff0", pcap_hdr() + pair() + rec(b"", caplen=0xfffffff0) +
     SYN, "partial", "2", "-", "open"),
    ("wirelen-under-caplen", pcap_hdr() + rec(SYN, wirelen=20) +
     rec(SYNACK, usec=10000, wirelen=0), "ok", "2", "-", "open"),
    ("usec-over-1e6", pcap_hdr() + rec(SYN, usec=0xffffffff) +
     rec(SYNACK, sec=TS + 5, usec=0xfffffff0), "ok", "2", "-", "-"),
    # the same SYN again 68 years earlier: gap * 5 overflowed int64 once
    # (libpcap reads the seconds as signed 32 bits)
    ("clock-jump-back", pcap_hdr() + rec(SYN, sec=0x7fffffff) +
     rec(SYN, sec=1) + rec(SYNACK, sec=1, usec=10000), "ok", "3", "-", "-"),
    ("ihl-15-cut", pcap_hdr() + rec(bytes(ihl15)) + pair(), "ok", "3", "-",
     "open"),
    ("ip-len-ffff", pcap_hdr() + rec(bytes(iplen)) + rec(SYNACK, usec=10000),
     "ok", "2", "-", "-"),
    ("null-bogus-af", pcap_hdr(linktype=NULL) +
     rec(struct.pack("<I", 0x12345678) + SYN[14:]) +
     rec(struct.pack("<I", 2) + SYNACK[14:], usec=10000), "ok", "2", "-", "-"),
    ("null-both-byte-orders", pcap_hdr(linktype=NULL) +
     rec(struct.pack(">I", 2) + SYN[14:]) +
     rec(struct.pack("<I", 2) + SYNACK[14:], usec=10000), "ok", "2", "-",
     "open"),
    # --- pcapng ------------------------------------------------------------
    ("ng-valid", shb() + idb() + ng_pair(), "ok", "2", "-", "open"),
    ("ng-valid-big-endian", shb(">") + idb(endian=">") +
     epb(SYN, endian=">") + epb(SYNACK, usec=TS * 1000000 + 10000,
                                endian=">"), "ok", "2", "-", "open"),
    ("ng-two-interfaces", shb() + idb() + idb() + ng_pair((0, 1)), "ok", "2",
     "-", "open"),
    ("ng-unknown-block", shb() + idb() + epb(SYN) +
     block(0x0bad, b"\x01\x02\x03\x04") +
     epb(SYNACK, usec=TS * 1000000 + 10000), "ok", "2", "-", "open"),
    ("ng-zero-length-packets", shb() + idb() + epb(b"") + ng_pair() +
     epb(b"", caplen=0), "ok", "4", "-", "open"),
    # 64-bit µs counts far past 2106: tv_sec * 10^9 overflowed int64 once
    ("ng-huge-timestamp", shb() + idb() + epb(SYN, usec=0x5b064380d09b8e3d) +
     epb(SYNACK, usec=0xffffffffffffff00), "ok", "2", "-", "-"),
    # if_tsresol 10^0: whole seconds, which libpcap turns into a negative
    # tv_sec
    ("ng-negative-timestamp", shb() + idb(options=opt(9, b"\x00")) +
     epb(SYN, usec=0xffffffffffff0000) + epb(SYNACK, usec=0xffffffffffffff00),
     "ok", "2", "-", "-"),
    ("ng-block-0x7ffffff0", shb() + idb() + ng_pair() +
     struct.pack("<II", 6, 0x7ffffff0) + b"\0" * 64, "partial", "2", "-",
     "open"),
    ("ng-block-len-not-4n", shb() + idb() + ng_pair() +
     struct.pack("<II", 6, 87) + b"\0" * 96, "partial", "2", "-", "open"),
    ("ng-block-len-8", shb() + idb() + ng_pair() + struct.pack("<II", 6, 8) +
     b"\0" * 16, "partial", "2", "-", "open"),
    ("ng-trailer-mismatch", shb() + idb() + ng_pair() +
     epb(SYN, trailer=0x44), "partial", "2", "-", "open"),
    ("ng-epb-before-idb", shb() + ng_pair() + idb(), "error", "-", "-", "-"),
    ("ng-bad-interface-id", shb() + idb() + ng_pair() + epb(SYN, iface=7),
     "partial", "2", "-", "open"),
    ("ng-epb-caplen-past-block", shb() + idb() + ng_pair() +
     epb(SYN, caplen=4000), "partial", "2", "-", "open"),
    ("ng-option-overrun", shb() + idb() + ng_pair() +
     block(1, struct.pack("<HHI", ETH, 0, 65535) +
           struct.pack("<HH", 2, 200) + b"eth0"), "partial", "2", "-",
     "open"),
    ("ng-idb-other-linktype", shb() + idb() + epb(SYN) + idb(RAW) +
     epb(SYNACK[14:], iface=1), "partial", "1", "-", "-"),
    ("ng-section-other-linktype", shb() + idb() + ng_pair() + shb() +
     idb(RAW) + epb(SYN[14:]), "partial", "2", "-", "open"),
    ("ng-shb-version-2", block(0x0a0d0d0a, struct.pack(
        "<IHHq", 0x1a2b3c4d, 2, 0, -1)) + idb() + ng_pair(), "open", "-", "-",
     "-"),
    ("ng-truncated-shb", shb()[:20], "open", "-", "-", "-"),
    ("ng-cut-in-epb", shb() + idb() + ng_pair() + epb(SYN)[:30], "partial",
     "2", "-", "open"),
]

with open(os.path.join(out, "cases.tsv"), "w") as tsv:
    for name, data, kind, packets, text, verdict in cases:
        with open(os.path.join(out, name + ".cap"), "wb") as f:
            f.write(data)
        tsv.write("\t".join([name, kind, packets, text, verdict]) + "\n")
EOF

# check_json KIND PACKETS VERDICT < stdout: JSON Lines ending in one summary
# whose "incomplete" fits KIND, with PACKETS packets and a target VERDICT.
check_json() {
    python3 -c '
import json, sys
kind, packets, verdict = sys.argv[1:4]
lines = sys.stdin.read().splitlines()
try:
    recs = [json.loads(l) for l in lines]
except ValueError as e:
    sys.exit("stdout is not JSON Lines: %s" % e)
if not recs or recs[-1].get("type") != "summary":
    sys.exit("no summary at the end of stdout")
if any(r.get("type") == "summary" for r in recs[:-1]):
    sys.exit("more than one summary")
s = recs[-1]
if s.get("incomplete") is not (kind != "ok"):
    sys.exit("summary incomplete=%r for a %s file" % (s.get("incomplete"), kind))
if packets != "-" and s.get("packets") != int(packets):
    sys.exit("summary packets=%r, want %s" % (s.get("packets"), packets))
if verdict != "-" and not any(r.get("type") == "target" and
                              r.get("verdict") == verdict for r in recs):
    sys.exit("no target with verdict %s" % verdict)
' "$@"
}

passed=0
failed=0
bad() {
    failed=$((failed + 1))
    echo "FAIL $1: $2"
}

while IFS=$'\t' read -r name kind packets text verdict; do
    file=$tmp/$name.cap
    timeout -k 5 30 "$bin" -r "$file" --json >"$tmp/out" 2>"$tmp/err" </dev/null
    status=$?
    err1=$(head -c 300 "$tmp/err" | tr '\n' '|')
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        bad "$name" "hang: killed after 30 s"
        continue
    fi
    if [ "$status" -ge 128 ] || grep -qE 'Sanitizer|runtime error|==[0-9]+==' "$tmp/err"; then
        bad "$name" "crash or sanitizer report (exit $status): $err1"
        continue
    fi
    # the shape of stderr: one "synprobe: " line for errors, only such
    # lines (warnings) otherwise
    nerr=$(grep -c '' "$tmp/err")
    if [ "$kind" = ok ]; then
        if grep -qv '^synprobe: .' "$tmp/err"; then
            bad "$name" "stderr has other lines than 'synprobe: ': $err1"
            continue
        fi
    elif [ "$nerr" -ne 1 ] || ! grep -q '^synprobe: .' "$tmp/err" ||
        [ "$(tail -c 1 "$tmp/err" | od -An -c | tr -d ' ')" != '\n' ]; then
        bad "$name" "stderr is not one 'synprobe: ' line: $err1"
        continue
    fi
    if [ "$text" != - ] && ! grep -qF -- "$text" "$tmp/err"; then
        bad "$name" "stderr does not say '$text': $err1"
        continue
    fi
    case "$kind" in
    ok)
        if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
            bad "$name" "exit $status, want 0 or 1: $err1"
            continue
        fi
        why=$(check_json ok "$packets" "$verdict" <"$tmp/out" 2>&1) ||
            { bad "$name" "$why"; continue; }
        ;;
    open)
        if [ "$status" -ne 3 ]; then
            bad "$name" "exit $status, want 3: $err1"
            continue
        fi
        if [ -s "$tmp/out" ]; then
            bad "$name" "stdout after an open error: $(head -c 200 "$tmp/out")"
            continue
        fi
        ;;
    partial | error)
        if [ "$status" -ne 3 ]; then
            bad "$name" "exit $status, want 3: $err1"
            continue
        fi
        if [ "$kind" = partial ] || [ -s "$tmp/out" ]; then
            why=$(check_json partial "$packets" "$verdict" <"$tmp/out" 2>&1) ||
                { bad "$name" "$why"; continue; }
        fi
        ;;
    esac
    passed=$((passed + 1))
    echo "ok   $name ($kind, exit $status${err1:+: $err1})"
done <"$tmp/cases.tsv"

# With REPLAY (fuzz_offline_replay): every file read both by libpcap and by
# synprobe's own classic pcap reader, which must agree frame by frame and
# end the same way (the harness aborts otherwise).
if [ -n "$replay" ]; then
    if "$replay" "$tmp"/*.cap >"$tmp/replay.out" 2>&1; then
        passed=$((passed + 1))
        echo "ok   both readers agree ($(tail -1 "$tmp/replay.out"))"
    else
        bad "both readers" "$(tail -2 "$tmp/replay.out" | tr '\n' ' ')"
    fi
fi

echo "hostile: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
