#!/usr/bin/env bash
# cli_errors.sh SYNPROBE
#
# The command line's error contract (shared/DESIGN.md, "Exit status"), checked
# without root, network or corpus:
#   * unreadable inputs (missing file, a directory, an empty file, a text file)
#     give exit 3 and exactly one stderr line starting "synprobe: ", no stdout;
#   * a pcap holding only its file header is read fine: exit 0, one summary;
#   * --help exits 0 and names the six verdicts; --version exits 0;
#   * usage errors exit 2 with one stderr line: an unknown option, a bad filter
#     expression, live probing without -p (the line mentions -p).
set -u

if [ "$#" -ne 1 ]; then
    echo "usage: $0 SYNPROBE" >&2
    exit 2
fi
bin=$1
[ -x "$bin" ] || { echo "cli_errors: $bin is not executable" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/synprobe-cli.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0

# run NAME EXPECTED_STATUS ARGS...: runs synprobe, keeps stdout/stderr in $tmp.
run() {
    local name=$1 want=$2
    shift 2
    timeout -k 5 20 "$bin" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    status=$?
    if [ "$status" -ne "$want" ]; then
        bad "$name" "exit $status, want $want; stderr: $(head -c 200 "$tmp/err" | tr '\n' '|')"
        return 1
    fi
    return 0
}
bad() {
    failed=$((failed + 1))
    echo "FAIL $1: $2"
}
good() {
    passed=$((passed + 1))
    echo "ok   $1"
}
# one_line NAME: stderr is exactly one newline-terminated line "synprobe: ...".
one_line() {
    if [ "$(wc -l <"$tmp/err")" -ne 1 ] ||
        [ "$(wc -c <"$tmp/err")" -ne "$(head -n1 "$tmp/err" | wc -c)" ] ||
        ! grep -q '^synprobe: .' "$tmp/err"; then
        bad "$1" "stderr is not one 'synprobe: ' line: $(head -c 300 "$tmp/err" | tr '\n' '|')"
        return 1
    fi
    return 0
}
no_stdout() {
    if [ -s "$tmp/out" ]; then
        bad "$1" "unexpected stdout: $(head -c 200 "$tmp/out" | tr '\n' '|')"
        return 1
    fi
    return 0
}

# --- input errors: exit 3 -------------------------------------------------
: >"$tmp/empty.pcap"
mkdir "$tmp/adir"
printf 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/usr/sbin/nologin\n' >"$tmp/passwd"
declare -A inputs=(
    [missing-file]="$tmp/does-not-exist.pcap"
    [directory]="$tmp/adir"
    [empty-file]="$tmp/empty.pcap"
    [text-file]="$tmp/passwd"
)
[ -r /etc/passwd ] && inputs[etc-passwd]=/etc/passwd
for name in missing-file directory empty-file text-file etc-passwd; do
    [ -n "${inputs[$name]:-}" ] || continue
    for json in "" --json; do
        n="input $name${json:+ $json}"
        # shellcheck disable=SC2086 # $json is empty or one word
        run "$n" 3 -r "${inputs[$name]}" $json && one_line "$n" && no_stdout "$n" && good "$n"
    done
done

# --- a valid pcap with no packet: exit 0, one summary -----------------------
# 24-byte little-endian pcap file header: v2.4, snaplen 65535, EN10MB.
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00' >"$tmp/hdr.pcap"
n="header-only pcap --json"
if run "$n" 0 -r "$tmp/hdr.pcap" --json; then
    if [ -s "$tmp/err" ]; then
        bad "$n" "stderr: $(head -c 200 "$tmp/err")"
    elif [ "$(wc -l <"$tmp/out")" -ne 1 ] || ! grep -q '^{"type":"summary".*"incomplete":false' "$tmp/out"; then
        bad "$n" "want one summary line, got: $(head -c 300 "$tmp/out")"
    else
        good "$n"
    fi
fi

# --- help and version -------------------------------------------------------
n="--help"
if run "$n" 0 --help; then
    missing=""
    for v in open closed rejected filtered unreachable unknown; do
        grep -qw -- "$v" "$tmp/out" || missing="$missing $v"
    done
    if [ -n "$missing" ]; then bad "$n" "verdicts not listed:$missing"; else good "$n"; fi
fi
n="--version"
if run "$n" 0 --version; then
    if grep -q 'synprobe' "$tmp/out"; then good "$n"; else bad "$n" "stdout: $(head -c 100 "$tmp/out")"; fi
fi

# --- usage errors: exit 2, one line -----------------------------------------
n="unknown option"
run "$n" 2 --no-such-option -r "$tmp/hdr.pcap" && one_line "$n" && no_stdout "$n" && good "$n"
n="bad filter"
run "$n" 2 -r "$tmp/hdr.pcap" 'tcp and and' && one_line "$n" && no_stdout "$n" && good "$n"
n="bad filter (split words)"
run "$n" 2 -r "$tmp/hdr.pcap" tcp and and && one_line "$n" && no_stdout "$n" && good "$n"
# a savefile cannot say which way a frame went: libpcap refuses these for
# files, and so must synprobe -r, whichever reader reads the file
n="filter meaningless for a file (inbound)"
run "$n" 2 -r "$tmp/hdr.pcap" inbound && one_line "$n" && no_stdout "$n" && good "$n"
n="live without -p"
if run "$n" 2 198.18.4.100 && one_line "$n" && no_stdout "$n"; then
    if grep -q -- '-p' "$tmp/err"; then good "$n"; else bad "$n" "line does not mention -p: $(cat "$tmp/err")"; fi
fi

echo "cli_errors: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
