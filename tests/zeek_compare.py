#!/usr/bin/env python3
"""zeek_compare.py SYNPROBE CORPUS_DIR

Compares synprobe's offline `attempt` verdicts with zeek's conn.log baselines
kept in the corpus (CORPUS_DIR/zeek/baselines.tsv), wherever the two notions
overlap. The mapping, and why each baseline or disagreement is left out, is
documented in docs/zeek-mapping.md; the short form:

  zeek saw the originator's SYN ('S' in history), then the responder's first
  answer (the first of 'h' / 'r' in history) was
      'h' SYN-ACK  -> synprobe attempt is open
      'r' RST      -> closed (rst) or rejected (middlebox-rst)          [REJ]
      nothing      -> filtered (no-response) or unknown (capture-ended) [S0, SH,
                      RSTOS0]; which one is checked against the trace's end
  no SYN from the originator (no 'S': OTH, SHR, RSTRH, flipped SF...)
                   -> synprobe has no attempt for that 4-tuple

Connections are matched on (orig_h, orig_p, resp_h, resp_p) = (client,
client_port, target, port). zeek's baselines mask timestamps, so several zeek
connections on one 4-tuple are compared as a group: zeek starts a new
connection for a SYN that repeats after a RST (same ISN); synprobe counts that
as one attempt with a larger syn_count. Such a group agrees when every member
maps to the synprobe verdict and the SYN count covers the zeek connections.

Any disagreement fails the test unless ALLOW lists it with its reason. It also
asserts that zeek/traces/tcp/rst-inject-rae.pcap yields a middlebox-rst.

Exit status: 0 all agree (or allowed), 1 a disagreement or error, 77 corpus
missing (1 under CI=true), 2 usage.
"""
import collections
import ipaddress
import json
import os
import struct
import subprocess
import sys

WAIT = 3.0          # synprobe's default --wait
TIMEOUT = 60        # seconds per synprobe run

# Baselines left out, each with why (see docs/zeek-mapping.md).
EXCLUDE = {
    "core.checksums_ignore_nets/conn-failed.log":
        "zeek ran with ignore_checksums_nets: its states depend on that option and on bad checksums",
    "core.checksums_ignore_nets/conn-worked-multi-subnets.log":
        "zeek ran with ignore_checksums_nets: its states depend on that option and on bad checksums",
    "core.checksums_ignore_nets/conn-worked.log":
        "zeek ran with ignore_checksums_nets: its states depend on that option and on bad checksums",
    "core.pcap.dynamic-filter/conn.log":
        "zeek installs a packet filter while reading, so it drops part of the trace",
    "core.pcap.read-trace-with-filter/conn.log":
        "zeek read the trace through a BPF filter (-f), so it saw part of the trace",
    "core.print-bpf-filters/conn.log":
        "reads two traces (one of them, empty.pcap, is not kept) to test filter printing; "
        "mixed-vlan-mpls.pcap is compared through core.vlan-mpls",
    "core.tcp.rxmit-history/conn-2.log":
        "two traces in one test; this log is wikipedia.pcap, compared through opt.basic",
    "scripts.policy.protocols.conn.mac-logging/conn1.log":
        "three traces in one test; this log is wikipedia.pcap, compared through opt.basic",
    "scripts.policy.protocols.conn.mac-logging/conn2.log":
        "this log is radiotap.pcap, which the corpus does not keep",
    "scripts.policy.protocols.conn.mac-logging/conn3.log":
        "this log is llc.pcap (FDDI: synprobe refuses the link type, exit 3); "
        "zeek has only OTH (no SYN), so there is nothing to compare",
    "scripts.policy.protocols.conn.speculative-service/conn-wiki.log":
        "two traces in one test; this log is wikipedia.pcap, compared through opt.basic",
    "scripts.base.frameworks.netcontrol.packetfilter/conn.log":
        "NetControl installs a packet filter while zeek reads smtp.pcap: zeek logs only the first "
        "packets of each connection (history 'Sh') and misses 192.168.133.100:49655 -> "
        "17.167.150.73:443 altogether",
}

# Baselines of multi-trace tests that are kept: which trace each log is.
TRACE_OF = {
    "core.tcp.rxmit-history/conn-1.log": "tcp/retransmit-fast009.pcap",
    "scripts.base.protocols.mysql.encrypted-aws-rds/tls-12.conn.log": "mysql/tls-12-amazon-rds.pcap",
    "scripts.base.protocols.mysql.encrypted-aws-rds/tls-13.conn.log": "mysql/tls-13-amazon-rds.pcap",
    "scripts.policy.protocols.conn.speculative-service/conn-post-large.log": "http/http-post-large.pcap",
}

# Known disagreements: (trace, 4-tuple or None for any, kind) -> reason.
# kind: "verdict" (both have the connection, classes differ), "missing"
# (zeek saw a SYN, synprobe has no attempt), "extra" (synprobe has an attempt,
# zeek saw no SYN or has no connection), "count" (synprobe splits a zeek
# connection into more attempts), "timing" (filtered/unknown against the
# trace's end), "status" (synprobe's exit status is not 0/1).
TUNNEL = ("synprobe does not decapsulate tunnels (GRE, VXLAN, Geneve, Teredo); zeek logs the "
          "inner connection. synprobe sees only the outer UDP/GRE packets")
ALLOW = {
    ("auth_change_session_keys.pcap", ("192.168.1.2", 49159, "192.168.1.1", 20000), "verdict"):
        "every packet from 192.168.1.1 (the SYN-ACK too) has IP checksum 0 and a wrong TCP checksum: "
        "captured on that host with checksum offload. zeek discards packets with bad checksums, so "
        "it never saw the SYN-ACK (S0, history SAD); synprobe reads it and says open, which is what "
        "the client saw: it ACKed the SYN-ACK and sent data",
    ("pppoe-over-qinq.pcap", ("1.1.1.1", 20394, "2.2.2.2", 443), "missing"):
        "every frame is PPPoE session (ethertype 0x8864) inside two 802.1Q tags; synprobe's decoder "
        "does not read PPPoE (it counts the 86 frames as packets, none as attempts), zeek does",
    ("mixed-vlan-mpls.pcap", ("10.1.2.1", 11001, "10.34.0.1", 23), "missing"):
        "this connection's frames carry an MPLS label (ethertype 0x8847); synprobe's decoder does "
        "not read MPLS, zeek does (zeek: SH, no SYN-ACK seen, so no verdict would differ anyway)",
    ("tunnels/gre-sample.pcap", ("66.59.111.190", 40264, "172.28.2.3", 22), "missing"): TUNNEL,
    ("tunnels/vxlan-encapsulated-http.pcap", ("172.16.11.201", 40354, "54.86.237.188", 80), "missing"): TUNNEL,
    ("tunnels/geneve-47101.pcap", ("192.168.0.107", 45474, "145.40.68.75", 443), "missing"): TUNNEL,
    ("tunnels/geneve-many-options.pcap", ("10.0.0.226", 39088, "95.217.228.176", 80), "missing"): TUNNEL,
    ("tunnels/Teredo.pcap", ("2001:0:4137:9e50:8000:f12a:b9c8:2815", 1286, "2001:4860:0:2001::68", 80),
     "missing"): TUNNEL,
}

ANSWER_CLASSES = {
    "open": {("open", "syn-ack"), ("open", "middlebox-syn-ack")},
    "refused": {("closed", "rst"), ("rejected", "middlebox-rst")},
    "silent": {("filtered", "no-response"), ("unknown", "capture-ended")},
}

FIELD_ALIASES = {
    "orig_h": ("id.orig_h", "id_orig_h", "src", "src_ip"),
    "orig_p": ("id.orig_p", "id_orig_p", "src_port"),
    "resp_h": ("id.resp_h", "id_resp_h", "dst", "dst_ip"),
    "resp_p": ("id.resp_p", "id_resp_p", "dst_port"),
    "proto": ("proto",),
    "conn_state": ("conn_state",),
    "history": ("history",),
    "duration": ("duration",),
}


def norm_addr(a):
    try:
        return str(ipaddress.ip_address(a))
    except ValueError:
        return a


def read_conn_log(path):
    """TCP rows of a zeek conn.log as dicts with the canonical keys above."""
    sep = "\t"
    cols = None
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#separator"):
                sep = line.split(" ", 1)[1].encode().decode("unicode_escape")
                continue
            if line.startswith("#fields"):
                names = line.split(sep)[1:]
                cols = {}
                for key, aliases in FIELD_ALIASES.items():
                    for a in aliases:
                        if a in names:
                            cols[key] = names.index(a)
                            break
                    else:
                        raise ValueError(f"{path}: no column for {key}")
                continue
            if not line or line.startswith("#"):
                continue
            if cols is None:
                raise ValueError(f"{path}: data before #fields")
            v = line.split(sep)
            r = {k: v[i] for k, i in cols.items()}
            if r["proto"] != "tcp":
                continue
            r["key"] = (norm_addr(r["orig_h"]), int(r["orig_p"]),
                        norm_addr(r["resp_h"]), int(r["resp_p"]))
            hist = r["history"] if r["history"] != "-" else ""
            r["duration"] = float(r["duration"]) if r["duration"] not in ("-", "") else 0.0
            r["expect"] = expectation(hist)
            rows.append(r)
    return rows


def expectation(hist):
    """What synprobe should say for a zeek connection, from its history."""
    if "S" not in hist:
        return "none"
    h, r = hist.find("h"), hist.find("r")
    answers = [i for i in (h, r) if i >= 0]
    if not answers:
        return "silent"
    return "open" if min(answers) == h else "refused"


def last_packet_time(path):
    """Timestamp of the last packet in a pcap or pcapng file (None if unknown)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return None
    magic = data[:4]
    pcap_magics = {b"\xd4\xc3\xb2\xa1": ("<", 1e-6), b"\xa1\xb2\xc3\xd4": (">", 1e-6),
                   b"\x4d\x3c\xb2\xa1": ("<", 1e-9), b"\xa1\xb2\x3c\x4d": (">", 1e-9)}
    last = None
    if magic in pcap_magics:
        e, unit = pcap_magics[magic]
        off = 24
        while off + 16 <= len(data):
            sec, frac, incl, _ = struct.unpack_from(e + "IIII", data, off)
            last = sec + frac * unit
            off += 16 + incl
        return last
    if magic != b"\x0a\x0d\x0d\x0a":
        return None
    off, e, res = 0, "<", []
    while off + 12 <= len(data):
        btype = struct.unpack_from(e + "I", data, off)[0]
        if btype == 0x0A0D0D0A:
            bom = data[off + 8:off + 12]
            e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            res = []
        blen = struct.unpack_from(e + "I", data, off + 4)[0]
        if blen < 12 or off + blen > len(data):
            break
        body = data[off + 8:off + blen - 4]
        if btype == 1:  # interface description: look for if_tsresol
            unit = 1e-6
            o = 8
            while o + 4 <= len(body):
                code, olen = struct.unpack_from(e + "HH", body, o)
                if code == 0:
                    break
                if code == 9 and olen >= 1:
                    v = body[o + 4]
                    unit = 2.0 ** -(v & 0x7F) if v & 0x80 else 10.0 ** -v
                o += 4 + ((olen + 3) & ~3)
            res.append(unit)
        elif btype in (6, 2) and len(body) >= 12:  # enhanced / obsolete packet
            if btype == 6:
                ifid, hi, lo = struct.unpack_from(e + "III", body, 0)
            else:
                ifid = struct.unpack_from(e + "H", body, 0)[0]
                hi, lo = struct.unpack_from(e + "II", body, 4)
            unit = res[ifid] if ifid < len(res) else 1e-6
            last = ((hi << 32) | lo) * unit
        off += blen
    return last


def run_synprobe(binary, trace):
    p = subprocess.run([binary, "-r", trace, "--json"], capture_output=True,
                       timeout=TIMEOUT, check=False)
    recs = [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]
    return p.returncode, p.stderr.decode().strip(), recs


def verdict_class(a):
    for cls, pairs in ANSWER_CLASSES.items():
        if (a["verdict"], a["reason"]) in pairs:
            return cls
    return f"{a['verdict']}/{a['reason']}"


def fmt_key(k):
    oh, op, rh, rp = k
    return f"{oh}:{op} -> {rh}:{rp}" if ":" not in oh else f"[{oh}]:{op} -> [{rh}]:{rp}"


def compare(trace, rows, attempts, end):
    """Returns (stats, issues); issues are (kind, key, text)."""
    stats = collections.Counter()
    issues = []
    zk = collections.defaultdict(list)
    for r in rows:
        zk[r["key"]].append(r)
    sk = collections.defaultdict(list)
    for a in attempts:
        sk[(norm_addr(a["client"]), int(a["client_port"]),
            norm_addr(a["target"]), int(a["port"]))].append(a)
    for key in sorted(set(zk) | set(sk), key=str):
        zrows = zk.get(key, [])
        want = [r for r in zrows if r["expect"] != "none"]
        got = sk.get(key, [])
        zdesc = ",".join(f"{r['conn_state']}({r['history'] or '-'})" for r in zrows) or "no conn"
        sdesc = ",".join(f"{a['verdict']}/{a['reason']} x{a['syn_count']}" for a in got) or "no attempt"
        if not want and not got:
            stats["agree-no-attempt"] += 1
            continue
        if not want:
            issues.append(("extra", key, f"zeek {zdesc}, synprobe {sdesc}"))
            continue
        if not got:
            issues.append(("missing", key, f"zeek {zdesc}, synprobe no attempt"))
            continue
        zc = collections.Counter(r["expect"] for r in want)
        sc = collections.Counter(verdict_class(a) for a in got)
        if set(zc) != set(sc):
            issues.append(("verdict", key, f"zeek {zdesc}, synprobe {sdesc}"))
            continue
        if len(got) > len(want):
            issues.append(("count", key, f"zeek {len(want)} conn(s) {zdesc}, synprobe {len(got)} attempts {sdesc}"))
            continue
        if len(got) < len(want):
            if len(zc) > 1 or sum(a["syn_count"] for a in got) < len(want):
                issues.append(("count", key, f"zeek {len(want)} conns {zdesc}, synprobe {len(got)} attempt(s) {sdesc}"))
                continue
            stats["merged-zeek-conns"] += len(want) - len(got)
        # filtered vs unknown: the trace's end decides (only one-sided checks
        # are possible, since zeek's timestamps are masked).
        bad_timing = False
        if end is not None and len(want) == 1 and len(got) == 1 and want[0]["expect"] == "silent":
            a, r = got[0], want[0]
            first = float(a["first_seen"])
            if a["verdict"] == "filtered" and end - first < WAIT:
                issues.append(("timing", key, f"filtered, but the trace ends {end - first:.3f}s after the first SYN (< --wait {WAIT:g})"))
                bad_timing = True
            elif a["verdict"] == "unknown" and end - (first + r["duration"]) >= WAIT:
                issues.append(("timing", key, f"unknown/capture-ended, but the trace ends {end - first - r['duration']:.3f}s after zeek's last packet of it (>= --wait {WAIT:g})"))
                bad_timing = True
        if not bad_timing:
            stats["agree"] += 1
            for c in zc:
                stats[f"agree-{c}"] += 1
    return stats, issues


def allowed(trace, kind, key):
    for k in ((trace, key, kind), (trace, None, kind)):
        if k in ALLOW:
            return ALLOW[k]
    return None


def main(argv):
    if len(argv) != 3:
        print(f"usage: {argv[0]} SYNPROBE CORPUS_DIR", file=sys.stderr)
        return 2
    binary, corpus = argv[1], argv[2]
    zeek = os.path.join(corpus, "zeek")
    table = os.path.join(zeek, "baselines.tsv")
    if not os.path.isdir(corpus) or not os.path.isfile(table):
        print(f"SKIPPED: corpus dir {corpus} not found (or has no zeek/baselines.tsv)")
        if os.environ.get("CI") == "true":
            print("zeek_compare: CI=true, so a missing corpus is a failure")
            return 1
        return 77
    if not os.access(binary, os.X_OK):
        print(f"zeek_compare: {binary} is not executable", file=sys.stderr)
        return 1

    failures = 0
    used_allow = set()
    groups = collections.OrderedDict()  # (trace, rows signature) -> [baselines], rows
    with open(table, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or line.startswith("baseline\t"):
                continue
            base, _repo, traces, _counts = line.rstrip("\n").split("\t")[:4]
            name = base.split("zeek/baselines/", 1)[1]
            if name in EXCLUDE:
                print(f"exclude {name}: {EXCLUDE[name]}")
                continue
            tl = traces.split(";")
            if name in TRACE_OF:
                trace = TRACE_OF[name]
            elif len(tl) == 1:
                trace = tl[0]
            else:
                print(f"FAIL {name}: reads {len(tl)} traces; say in TRACE_OF or EXCLUDE which")
                failures += 1
                continue
            rows = read_conn_log(os.path.join(corpus, base))
            sig = (trace, tuple(sorted((r["key"], r["conn_state"], r["history"]) for r in rows)))
            groups.setdefault(sig, ([], rows))[0].append(name)

    print()
    hdr = f"{'trace':44} {'zeek TCP conn_state':34} {'synprobe attempts':38} agree merged allowed failing"
    print(hdr)
    print("-" * len(hdr))
    totals = collections.Counter()
    notes = []
    for (trace, _sig), (names, rows) in groups.items():
        path = os.path.join(zeek, "traces", trace)
        if not os.path.isfile(path):
            print(f"FAIL {trace}: trace not in the corpus")
            failures += 1
            continue
        try:
            status, err, recs = run_synprobe(binary, path)
        except subprocess.TimeoutExpired:
            print(f"FAIL {trace}: synprobe timed out after {TIMEOUT}s")
            failures += 1
            continue
        issues = []
        if status not in (0, 1):
            issues.append(("status", None, f"synprobe exit {status}: {err}"))
        attempts = [r for r in recs if r.get("type") == "attempt"]
        stats, more = compare(trace, rows, attempts, last_packet_time(path))
        issues += more
        zcount = collections.Counter(r["conn_state"] for r in rows)
        scount = collections.Counter(a["verdict"] for a in attempts)
        zs = " ".join(f"{k}={v}" for k, v in sorted(zcount.items())) or "-"
        ss = " ".join(f"{k}={v}" for k, v in sorted(scount.items())) or "-"
        bad = []
        for kind, key, text in issues:
            reason = allowed(trace, kind, key)
            line = f"  {kind} {fmt_key(key) if key else ''}: {text}"
            if reason is None:
                bad.append(line)
            else:
                used_allow.add((trace, key, kind) if (trace, key, kind) in ALLOW else (trace, None, kind))
                notes.append(f"{trace}{line}\n      allowed: {reason}")
        print(f"{trace:44} {zs:34} {ss:38} {stats['agree']:5} {stats['merged-zeek-conns']:6} "
              f"{len(issues) - len(bad):7} {len(bad):7}")
        if len(names) > 1:
            print(f"  (baselines: {', '.join(names)})")
        for line in bad:
            print("FAIL" + line[1:])
        failures += len(bad)
        totals.update(stats)
        totals["issues"] += len(issues)
        totals["unallowed"] += len(bad)
        totals["traces"] += 1

    if notes:
        print("\nallowed disagreements:")
        for n in notes:
            print("  " + n)
    for k, reason in ALLOW.items():
        if k not in used_allow:
            print(f"note: allow-list entry {k} matched nothing ({reason})")

    # The injected RST in rst-inject-rae.pcap must read as a middlebox's.
    rae = os.path.join(zeek, "traces", "tcp", "rst-inject-rae.pcap")
    status, err, recs = run_synprobe(binary, rae)
    mb = [r for r in recs if r.get("type") == "attempt" and r.get("reason") == "middlebox-rst"]
    if status == 1 and mb and mb[0]["verdict"] == "rejected" and mb[0]["reply_ttl"] == 46:
        print(f"\nrst-inject-rae.pcap: rejected/middlebox-rst, reply_ttl 46 (ok)")
    else:
        print(f"\nFAIL rst-inject-rae.pcap: want an attempt rejected/middlebox-rst with reply_ttl 46, "
              f"got exit {status}: {[(r.get('verdict'), r.get('reason'), r.get('reply_ttl')) for r in recs if r.get('type') == 'attempt']}")
        failures += 1

    print(f"\nzeek_compare: {totals['traces']} traces, {totals['agree']} agreeing 4-tuples "
          f"(open {totals['agree-open']}, refused {totals['agree-refused']}, silent {totals['agree-silent']}), "
          f"{totals['agree-no-attempt']} no-SYN conns without attempt, {totals['merged-zeek-conns']} zeek conns merged "
          f"as same-ISN retransmissions, {totals['issues']} disagreements ({totals['unallowed']} not allowed)")
    print(f"zeek_compare: {'FAILED' if failures else 'passed'} ({failures} failure(s))")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
