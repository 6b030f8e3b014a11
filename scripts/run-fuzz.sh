#!/bin/sh
# Build the libFuzzer targets with clang and run each for a bounded time
# over a seed corpus of valid images made at run time.
#   run-fuzz.sh BUILD_DIR [SECONDS_PER_TARGET]
# Writes BUILD_DIR/fuzz-results.json, one '"result":' line per target, for
# scripts/test-summary.sh.  Crash inputs are kept in BUILD_DIR/fuzz-crashes.
set -u
dir=${1:-build-fuzz}
secs=${2:-${SPINDLE_FUZZ_SECONDS:-60}}
results="$dir/fuzz-results.json"

record() {  # record NAME OK|FAIL
    echo "{\"name\": \"spindle:fuzz / $1\", \"result\": \"$2\"}" >>"$results"
    echo "fuzz $1: $2"
}

if ! command -v clang >/dev/null 2>&1; then
    mkdir -p "$dir"; : >"$results"
    record setup FAIL
    echo "clang is missing (make check installs clang and libclang-rt-14-dev)"
    exit 1
fi
if [ ! -f "$dir/build.ninja" ]; then
    CC=clang meson setup "$dir" -Dfuzz=true -Db_sanitize=address \
        -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link \
        -Dcoroutine_backend=ucontext >/dev/null || exit 1
fi
: >"$results"
ninja -C "$dir" tests/fuzz/fuzz-image >"$dir/ninja-fuzz.log" 2>&1 ||
    { cat "$dir/ninja-fuzz.log"; record build FAIL; exit 1; }

# Seed corpus: small valid images of every format we read.
corpus="$dir/fuzz-corpus/image"
rm -rf "$corpus"; mkdir -p "$corpus" "$dir/fuzz-crashes"
for f in "$(dirname "$0")"/../tests/fuzz/corpus/*; do   # past findings
    [ "${f##*/}" = README ] || cp "$f" "$corpus/"
done
head -c 4096 /dev/zero >"$corpus/raw-zero"
head -c 4096 /dev/urandom >"$corpus/raw-random"
if command -v qemu-img >/dev/null 2>&1; then
    n=0
    for opts in "compat=0.10,cluster_size=4096" \
                "compat=1.1,cluster_size=4096" \
                "compat=1.1,cluster_size=4096,lazy_refcounts=on" \
                "compat=1.1,cluster_size=4096,refcount_bits=1" \
                "compat=1.1,cluster_size=16384,extended_l2=on" \
                "compat=1.1,cluster_size=512"; do
        n=$((n + 1))
        f="$corpus/qcow2-$n"
        qemu-img create -q -f qcow2 -o "$opts" "$f" 1M
        qemu-io -f qcow2 -c "write -P 0x5a 0 8k" -c "write -z 64k 4k" \
            -c "write -c 128k 4k" "$f" >/dev/null 2>&1
    done
    qemu-img snapshot -c snap1 "$corpus/qcow2-2"
fi

status=0
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export ASAN_OPTIONS
if "$dir/tests/fuzz/fuzz-image" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
        -artifact_prefix="$dir/fuzz-crashes/" "$corpus" \
        >"$dir/fuzz-image.log" 2>&1; then
    record fuzz-image OK
else
    tail -n 40 "$dir/fuzz-image.log"
    record fuzz-image FAIL
    status=1
fi
grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ *DONE)" \
    "$dir/fuzz-image.log" | head -n 3
exit $status
