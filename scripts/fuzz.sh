#!/usr/bin/env bash
# fuzz.sh SECONDS [TARGET...]
#
# Builds the libFuzzer tree (build-fuzz: clang, ASan + UBSan, SYNPROBE_FUZZ)
# and runs each fuzz target (default: fuzz_decode, then fuzz_offline) for
# SECONDS, niced, one process at a time (this is a shared 2-core machine).
#
# Seeds, rebuilt each run under build-fuzz/fuzz/seeds/<target>:
#   fuzz_offline  whole capture files: captures/*.pcap and the .pcap/.pcapng
#                 files of the shared corpus up to 32 KiB;
#   fuzz_decode   single frames cut from the same captures by
#                 fuzz_seed_frames (a link-type byte, then the frame).
# The corpus each target grows is kept in build-fuzz/fuzz/corpus/<target>,
# so later runs start where earlier ones stopped.
#
# libFuzzer runs in fork mode with crashes, timeouts and OOMs ignored, so one
# run can find several bugs. Per target it prints executions, exec/s,
# coverage and what it found; every crash, leak, timeout or OOM input is
# copied to tests/fuzz/regressions/<target>/ (replayed by CTest) and the
# script exits 1. Exit 0: nothing found. Exit 2: usage or build failure.
#
# Environment: SYNPROBE_CORPUS_DIR (default ../shared/corpus beside the
# checkout), FUZZ_BUILD_DIR (default build-fuzz).
set -uo pipefail

if [ "$#" -lt 1 ] || ! [[ "$1" =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ]; then
    echo "usage: $0 SECONDS [fuzz_decode|fuzz_offline]..." >&2
    exit 2
fi
secs=$1
shift
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(fuzz_decode fuzz_offline)
for t in "${targets[@]}"; do
    case "$t" in
    fuzz_decode | fuzz_offline) ;;
    *)
        echo "fuzz.sh: unknown target $t" >&2
        exit 2
        ;;
    esac
done

cd "$(dirname "$0")/.." || exit 2
src=$PWD
build=${FUZZ_BUILD_DIR:-build-fuzz}
corpus_dir=${SYNPROBE_CORPUS_DIR:-$src/../shared/corpus}
work=$build/fuzz

echo "fuzz.sh: building $build" >&2
if ! cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DSYNPROBE_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build.cmake.log" 2>&1 ||
    ! nice -n 10 cmake --build "$build" -j2 --target fuzz_decode fuzz_offline \
        fuzz_seed_frames >>"$build.cmake.log" 2>&1; then
    tail -n 30 "$build.cmake.log" >&2
    echo "fuzz.sh: build failed (log: $build.cmake.log)" >&2
    exit 2
fi
rm -f "$build.cmake.log"

# Capture files to seed from: ours, then the shared corpus (not the .gz ones:
# libpcap cannot read them).
captures=("$src"/captures/*.pcap)
if [ -d "$corpus_dir" ]; then
    while IFS= read -r -d '' f; do
        captures+=("$f")
    done < <(find "$corpus_dir" -type f \( -name '*.pcap' -o -name '*.pcapng' \) \
        -size -33k -print0 | sort -z)
else
    echo "fuzz.sh: no corpus at $corpus_dir; seeding from captures/ only" >&2
fi

seed() { # target
    local dir=$work/seeds/$1 i=0
    rm -rf "$dir"
    mkdir -p "$dir"
    case "$1" in
    fuzz_offline)
        for f in "${captures[@]}"; do
            cp "$f" "$dir/$i-$(basename "$f")"
            i=$((i + 1))
        done
        echo "${#captures[@]}"
        ;;
    fuzz_decode)
        "$build/fuzz_seed_frames" "$dir" 32 "${captures[@]}"
        ;;
    esac
}

# last_stat LOG FIELD: a field of the last fork-mode status line
#   #N: cov: C ft: F corp: K exec/s E oom/timeout/crash: O/T/C time: Ss ...
last_stat() {
    grep -E '^#[0-9]+: cov: ' "$1" | tail -n 1 | awk -v f="$2" '
        { for (i = 1; i < NF; i++) if ($i == f) { print $(i + 1); exit } }'
}

# signature BINARY INPUT: one line naming the bug an input triggers: the
# sanitizer's or libFuzzer's error kind and the top three frames of ours.
signature() {
    local out
    out=$(UBSAN_OPTIONS=print_stacktrace=1 timeout -k 5 60 "$1" -timeout=10 \
        -rss_limit_mb=2048 "$2" 2>&1)
    {
        # the kind of error without its values, so one bug is one signature
        grep -Eo 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): [a-z-]+|runtime error: [^:]*' \
            <<<"$out" | head -n 1 | sed -E 's/0x[0-9a-f]+|-?[0-9]+/N/g'
        grep -E '^ +#[0-9]+ 0x[0-9a-f]+ in ' <<<"$out" |
            grep -vE 'LLVMFuzzerTestOneInput|libFuzzer|compiler-rt|/usr/' |
            head -n 3 | sed -E 's/.* in ([^ ]+) ([^ ]+)$/\1 \2/'
    } | tr '\n' ' ' | sed -E "s| +$||; s|$src/||g"
}

found_any=0
summary=()
for t in "${targets[@]}"; do
    corpus=$work/corpus/$t
    art=$work/artifacts/$t
    log=$work/$t.log
    mkdir -p "$corpus"
    rm -rf "$art"
    mkdir -p "$art"
    nseeds=$(seed "$t")
    case "$t" in
    fuzz_decode) max_len=4096 ;;
    fuzz_offline) max_len=32768 ;;
    esac
    echo "fuzz.sh: $t for ${secs}s ($nseeds seeds, log $log)" >&2
    start=$(date +%s)
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
        nice -n 10 "$build/$t" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 \
        -ignore_ooms=1 -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -max_len="$max_len" -artifact_prefix="$art/" \
        "$corpus" "$work/seeds/$t" >"$log" 2>&1
    rc=$?
    minutes=$(awk -v s="$(($(date +%s) - start))" 'BEGIN { printf "%.1f", s / 60 }')

    execs=$(grep -Eo '^#[0-9]+: cov:' "$log" | tail -n 1 | tr -dc '0-9')
    cov=$(last_stat "$log" cov:)
    ft=$(last_stat "$log" ft:)
    corp=$(last_stat "$log" corp:)
    eps=$(last_stat "$log" exec/s)
    otc=$(last_stat "$log" oom/timeout/crash:)

    # Whatever libFuzzer saved (crash-, leak-, timeout-, oom-): fork mode
    # saves every hit, often the same bug many times, so keep the smallest
    # input per distinct report.
    n_found=0
    n_unique=0
    dest=$src/tests/fuzz/regressions/$t
    mkdir -p "$dest"
    declare -A best=()
    while IFS= read -r f; do
        n_found=$((n_found + 1))
        # replaying costs up to -timeout each: look at the first 100 only
        [ "$n_found" -le 100 ] || continue
        sig=$(signature "$build/$t" "$f")
        sig=${sig:-"did not reproduce"}
        if [ -z "${best[$sig]:-}" ] ||
            [ "$(stat -c %s "$f")" -lt "$(stat -c %s "${best[$sig]}")" ]; then
            best[$sig]=$f
        fi
    done < <(find "$art" -type f \( -name 'crash-*' -o -name 'leak-*' \
        -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
    for sig in "${!best[@]}"; do
        n_unique=$((n_unique + 1))
        cp "${best[$sig]}" "$dest/"
        echo "fuzz.sh: $t: $(basename "${best[$sig]}"): $sig" >&2
    done
    unset best
    [ "$n_found" -eq 0 ] || found_any=1
    line="$t: ${minutes} min, ${execs:-?} execs, ${eps:-?} exec/s, cov ${cov:-?}"
    line+=", ft ${ft:-?}, corpus ${corp:-?}, oom/timeout/crash ${otc:-?}"
    line+=", found $n_found inputs / $n_unique distinct (libFuzzer exit $rc)"
    summary+=("$line")
    echo "$line"
done

echo "--- fuzz.sh summary (${secs}s per target)"
printf '%s\n' "${summary[@]}"
if [ "$found_any" -ne 0 ]; then
    echo "fuzz.sh: inputs that crash, leak or hang were saved in tests/fuzz/regressions/" >&2
    exit 1
fi
exit 0
