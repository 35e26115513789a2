#!/usr/bin/env bash
# corpus_test.sh SYNPROBE CORPUS_DIR
#
# Runs `synprobe -r FILE --json` over every capture in the third-party corpus
# (shared/corpus beside the checkout; see its README.md) and checks that
# synprobe behaves on each of them, whatever the file holds:
#   * it ends within $SYNPROBE_CORPUS_TIMEOUT seconds (default 20): a hang fails;
#   * its exit status is 0, 1 or 3: never a signal, never 2 (usage);
#   * exit 3 (input error): stderr is exactly one line starting "synprobe: ";
#     any stdout is still valid JSON Lines, and a summary, if printed, says
#     "incomplete": true (a file that ends in error prints partial results);
#   * exit 0/1: every stdout line is a JSON object with a known "type", the last
#     one is the summary, "incomplete" is false, and the status agrees with the
#     target records (0 exactly when every target is open, or there is none);
#   * stderr never holds a sanitizer or UBSan report.
# Compressed captures (*.gz) are decompressed with zcat into a temporary file
# first: libpcap cannot read them directly, and they are real inputs too.
# Which files count as captures: every regular file except the text files the
# corpus keeps beside them (*.out, *.log, *.tsv, *.md).
#
# Prints one line per failing file and a final line
#   corpus: N passed, M failed
# Exits 0 if nothing failed, 1 otherwise, 77 (CTest's skip code) if the corpus
# folder is missing, unless CI=true, where a missing corpus is a failure.
set -u

if [ "$#" -ne 2 ]; then
    echo "usage: $0 SYNPROBE CORPUS_DIR" >&2
    exit 2
fi
bin=$1
corpus=$2
limit=${SYNPROBE_CORPUS_TIMEOUT:-20}

if [ ! -x "$bin" ]; then
    echo "corpus: synprobe binary $bin not found or not executable" >&2
    exit 1
fi
if [ ! -d "$corpus" ]; then
    echo "SKIPPED: corpus dir $corpus not found"
    if [ "${CI:-}" = "true" ]; then
        echo "corpus: CI=true, so a missing corpus is a failure"
        exit 1
    fi
    exit 77
fi
command -v python3 >/dev/null || { echo "corpus: python3 is needed (scripts/setup.sh)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/synprobe-corpus.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# ASan/UBSan builds: make every report fatal and visible on stderr.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# Validates synprobe's stdout (JSON Lines) of every run that passed the shell
# checks, in one python3 process (one per file is slow). Reads lines
# "OUTFILE<TAB>STATUS<TAB>NAME" on stdin; prints "FAIL NAME: problem" for each
# bad one and, last, the number of bad ones.
cat >"$tmp/check.py" <<'EOF'
import json
import sys

KINDS = {"attempt", "target", "summary"}
VERDICTS = {"open", "closed", "rejected", "filtered", "unreachable", "unknown"}


def no_constant(name):  # NaN / Infinity are not JSON
    raise ValueError(f"{name} is not JSON")


def check(path, status):
    """The problem with one run's stdout, or None."""
    objs = []
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                o = json.loads(raw.decode("utf-8"), parse_constant=no_constant)
            except (UnicodeDecodeError, ValueError) as e:
                return f"stdout line {n} is not JSON ({e}): {raw[:120]!r}"
            if not isinstance(o, dict) or o.get("type") not in KINDS:
                return f"stdout line {n} has no known type: {raw[:120]!r}"
            if o["type"] in ("attempt", "target") and o.get("verdict") not in VERDICTS:
                return f"stdout line {n} has verdict {o.get('verdict')!r}"
            objs.append(o)
    if status == 3:  # partial results are allowed, marked incomplete
        for o in objs:
            if o["type"] == "summary" and o.get("incomplete") is not True:
                return "exit 3 but the summary does not say incomplete: true"
        return None
    if not objs or objs[-1]["type"] != "summary":
        return "the last stdout line is not a summary object"
    if sum(o["type"] == "summary" for o in objs) != 1:
        return "more than one summary"
    if objs[-1].get("incomplete") is not False:
        return f"incomplete is {objs[-1].get('incomplete')!r}, want false"
    all_open = all(o["verdict"] == "open" for o in objs if o["type"] == "target")
    if status == 0 and not all_open:
        return "exit 0 but some target is not open"
    if status == 1 and all_open:
        return "exit 1 but every target is open (or there is none)"
    return None


bad = 0
for line in sys.stdin:
    out, status, name = line.rstrip("\n").split("\t", 2)
    why = check(out, int(status))
    if why:
        bad += 1
        print(f"FAIL {name}: exit {status}: {why}")
print(bad)
EOF

passed=0
failed=0
declare -A by_status=()
gz_count=0
n=0
: >"$tmp/tocheck"

fail() { # file reason
    failed=$((failed + 1))
    echo "FAIL $1: $2"
}

while IFS= read -r -d '' file; do
    rel=${file#"$corpus"/}
    input=$file
    case $file in
    *.gz)
        gz_count=$((gz_count + 1))
        input=$tmp/unzipped
        if ! zcat -- "$file" >"$input" 2>"$tmp/zcat.err"; then
            fail "$rel" "zcat failed: $(head -n1 "$tmp/zcat.err")"
            continue
        fi
        ;;
    esac

    timeout -k 5 "$limit" "$bin" -r "$input" --json >"$tmp/out" 2>"$tmp/err"
    status=$?
    by_status[$status]=$((${by_status[$status]:-0} + 1))

    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        fail "$rel" "timed out after ${limit}s (hang)"
        continue
    fi
    if [ "$status" -gt 128 ]; then
        fail "$rel" "killed by signal $((status - 128)): $(grep -m1 -E 'ERROR|runtime error|Sanitizer' "$tmp/err")"
        continue
    fi
    if grep -qE 'runtime error|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer' "$tmp/err"; then
        fail "$rel" "sanitizer report (exit $status): $(grep -m1 -E 'runtime error|Sanitizer' "$tmp/err")"
        continue
    fi
    case $status in
    0 | 1) ;;
    3)
        lines=$(wc -l <"$tmp/err")
        # exactly one line: one newline, and text before it starting "synprobe: "
        if [ "$lines" -ne 1 ] || [ "$(wc -c <"$tmp/err")" -ne "$(($(head -n1 "$tmp/err" | wc -c)))" ] ||
            ! head -n1 "$tmp/err" | grep -q '^synprobe: .'; then
            fail "$rel" "exit 3 but stderr is not one 'synprobe: ' line: $(head -c 200 "$tmp/err" | tr '\n' '|')"
            continue
        fi
        ;;
    *)
        fail "$rel" "exit status $status (allowed: 0, 1, 3): $(head -n1 "$tmp/err")"
        continue
        ;;
    esac
    # stdout is checked after the loop, all files at once.
    n=$((n + 1))
    mv "$tmp/out" "$tmp/out.$n"
    printf '%s\t%s\t%s\n' "$tmp/out.$n" "$status" "$rel" >>"$tmp/tocheck"
done < <(find "$corpus" -type f ! -name '*.out' ! -name '*.log' ! -name '*.tsv' ! -name '*.md' -print0 | sort -z)

python3 "$tmp/check.py" <"$tmp/tocheck" >"$tmp/checked" 2>&1
bad=$(tail -n1 "$tmp/checked")
case $bad in
'' | *[!0-9]*)
    echo "corpus: the JSON check itself failed:"
    cat "$tmp/checked"
    exit 1
    ;;
esac
sed '$d' "$tmp/checked"
failed=$((failed + bad))
passed=$((n - bad))

total=$((passed + failed))
if [ "$total" -eq 0 ]; then
    echo "corpus: no capture found under $corpus"
    exit 1
fi
dist=""
for s in $(printf '%s\n' "${!by_status[@]}" | sort -n); do
    dist="$dist exit $s: ${by_status[$s]},"
done
echo "corpus: exit statuses:${dist%,} ($gz_count .gz files decompressed with zcat)"
echo "corpus: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
