#!/usr/bin/env python3
"""Compares synprobe's attempt records with gencap's ground truth.

    check_truth.py TRUTH.txt SYNPROBE.jsonl

Attempts are matched by (client, client_port, target, port). Prints the
accuracy, a confusion table of (expected -> got) for the mismatches, the
first few mismatches, and records that have no truth line (extra) or truth
lines with no record (missing). Exit status 0 if all match, else 1.
"""
import collections
import json
import sys


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    truth = {}
    with open(sys.argv[1]) as f:
        for line in f:
            c, cp, t, p, verdict, reason = line.split()
            truth[(c, int(cp), t, int(p))] = (verdict, reason)

    got = {}
    extra = []
    dup = 0
    summary = None
    with open(sys.argv[2]) as f:
        for line in f:
            if '"attempt"' not in line:
                if '"summary"' in line:
                    summary = json.loads(line)
                continue
            r = json.loads(line)
            if r.get("type") != "attempt":
                continue
            key = (r["client"], r["client_port"], r["target"], r["port"])
            val = (r["verdict"], r["reason"])
            if key in got:
                dup += 1
            got[key] = val
            if key not in truth:
                extra.append((key, val))

    match = 0
    mism = []
    missing = []
    for key, want in truth.items():
        have = got.get(key)
        if have is None:
            missing.append((key, want))
        elif have == want:
            match += 1
        else:
            mism.append((key, want, have))

    n = len(truth)
    print(f"truth attempts   {n}")
    print(f"synprobe records {len(got)} (duplicates {dup})")
    print(f"match            {match}  accuracy {100.0 * match / max(n, 1):.3f} %")
    print(f"mismatch         {len(mism)}")
    print(f"missing          {len(missing)} (truth line, no record)")
    print(f"extra            {len(extra)} (record, no truth line)")
    if summary is not None:
        keys = ("packets", "attempts", "unrelated", "truncated", "invalid")
        print("summary          " + " ".join(f"{k}={summary.get(k)}" for k in keys))
    if mism:
        conf = collections.Counter((w, h) for _, w, h in mism)
        print("mismatches by (expected -> got):")
        for (w, h), k in conf.most_common():
            print(f"  {k:8d}  {w[0]}/{w[1]} -> {h[0]}/{h[1]}")
        print("first mismatches (client cport target port: expected -> got):")
        for key, w, h in mism[:8]:
            print(f"  {key[0]} {key[1]} {key[2]} {key[3]}: "
                  f"{w[0]}/{w[1]} -> {h[0]}/{h[1]}")
    for title, rows in (("missing", missing), ("extra", extra)):
        if rows:
            conf = collections.Counter(v for _, v in rows)
            print(f"{title} by verdict: " +
                  ", ".join(f"{v[0]}/{v[1]}={k}" for v, k in conf.most_common()))
            for key, v in rows[:5]:
                print(f"  {title}: {key[0]} {key[1]} {key[2]} {key[3]} {v[0]}/{v[1]}")
    return 0 if match == n and not extra else 1


if __name__ == "__main__":
    sys.exit(main())
