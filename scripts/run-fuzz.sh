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

# qcow2_feature_seeds CORPUS AUX: one small valid qcow2 seed per feature
# whose metadata the plain seeds lack; files they need beside them go to
# AUX (outside the corpus).  Each is a few qemu-img/qemu-io calls, under
# 1 MiB (LUKS takes a few seconds: qemu-img times the key derivation
# however short the iteration time asked); a seed that cannot be made is
# skipped.
qcow2_feature_seeds() {
    local c=$1 aux=$2 sec="secret,id=sec0,data=fuzz" luks
    mkdir -p "$aux"
    # zstd-compressed clusters beside a plain one
    qemu-img create -q -f qcow2 -o compression_type=zstd,cluster_size=4096 \
        "$c/qcow2-zstd" 1M &&
    qemu-io -f qcow2 -c "write -c -P 0x33 0 4k" -c "write -c 64k 8k" \
        -c "write -P 0x5a 128k 4k" "$c/qcow2-zstd" >/dev/null
    # persistent bitmaps: one enabled (dirtied, so stored with a table),
    # one disabled and empty
    qemu-img create -q -f qcow2 -o cluster_size=4096 "$c/qcow2-bitmap" 1M &&
    qemu-img bitmap --add -g 4096 "$c/qcow2-bitmap" b0 &&
    qemu-img bitmap --add --disable "$c/qcow2-bitmap" b1 &&
    qemu-io -f qcow2 -c "write -P 0x5a 0 8k" -c "write 512k 4k" \
        "$c/qcow2-bitmap" >/dev/null
    # LUKS encryption (the fuzz target has no key: header and key slots);
    # aes-128-cbc keeps the key material (8 slots) near 512 KiB, within
    # the 1 MiB libFuzzer reads of a seed
    luks=encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10
    luks=$luks,encrypt.cipher-alg=aes-128,encrypt.cipher-mode=cbc
    luks=$luks,encrypt.ivgen-alg=plain64,cluster_size=4096
    qemu-img create -q -f qcow2 --object "$sec" -o "$luks" \
        "$c/qcow2-luks" 1M &&
    qemu-io --object "$sec" --image-opts -c "write -P 0x5a 0 8k" \
        "driver=qcow2,file.filename=$c/qcow2-luks,encrypt.key-secret=sec0" \
        >/dev/null
    # an external data file, named by absolute path so that it opens
    qemu-img create -q -f qcow2 -o \
        "data_file=$aux/data.raw,data_file_raw=on,cluster_size=4096" \
        "$c/qcow2-datafile" 1M &&
    qemu-io -f qcow2 -c "write -P 0x5a 0 8k" -c "write -z 64k 4k" \
        "$c/qcow2-datafile" >/dev/null
    # extended L2: allocated, zero and unallocated subclusters in a cluster
    qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=16384 \
        "$c/qcow2-subclusters" 1M &&
    qemu-io -f qcow2 -c "write -P 0x5a 0 1k" -c "write -z 2k 1k" \
        -c "write -P 0x5b 7k 2k" -c "write -c 32k 16k" \
        "$c/qcow2-subclusters" >/dev/null
    # several snapshots, data changed between them, one deleted
    qemu-img create -q -f qcow2 -o cluster_size=4096 "$c/qcow2-snapshots" 1M &&
    qemu-io -f qcow2 -c "write -P 1 0 16k" "$c/qcow2-snapshots" >/dev/null &&
    qemu-img snapshot -c s1 "$c/qcow2-snapshots" &&
    qemu-io -f qcow2 -c "write -P 2 4k 4k" -c "write -P 3 256k 4k" \
        "$c/qcow2-snapshots" >/dev/null &&
    qemu-img snapshot -c s2 "$c/qcow2-snapshots" &&
    qemu-io -f qcow2 -c "write -z 0 4k" -c "discard 256k 4k" \
        "$c/qcow2-snapshots" >/dev/null &&
    qemu-img snapshot -c s3 "$c/qcow2-snapshots" &&
    qemu-img snapshot -d s2 "$c/qcow2-snapshots"
    return 0
}

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
    qcow2_feature_seeds "$corpus" "$dir/fuzz-corpus/aux"
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
