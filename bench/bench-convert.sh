#!/bin/bash
# spindle-img convert against qemu-img convert on the same input,
# alternating in one run, outputs checked with qemu-img compare.  Prints
# the best of ROUNDS seconds per tool and the ratio qemu / spindle (above
# 1: Spindle is faster).
#   bench-convert.sh BUILD_DIR [ROUNDS]
# Input: a 1 GiB raw image of 256 KiB extents shuffled with a fixed seed,
# half random data, a quarter written zeroes, a quarter holes
# (scripts/mixed-image.py).  Both tools run with the same -m and their
# default target cache (unsafe: no flush); "-t none -T none" rows use
# O_DIRECT on both sides, free of page-cache noise.  qcow2 rows run when
# the qcow2 driver is built in.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
b=${1:-build-bench}
rounds=${2:-3}
SIMG=$b/tools/spindle-img/spindle-img
here=$(dirname "$0")
dir=${BENCH_IMG_DIR:-/var/tmp}
command -v qemu-img >/dev/null || { echo "error: qemu-img missing" >&2; exit 1; }
[ -x "$SIMG" ] || { echo "error: $SIMG not built" >&2; exit 1; }

src=$dir/spindle-mixed-1g.raw
[ -s "$src" ] || /usr/bin/python3 "$here/../scripts/mixed-image.py" "$src" 1024
out_s=$dir/spindle-convert-out.s out_q=$dir/spindle-convert-out.q
trap 'rm -f "$out_s" "$out_q" "$dir"/spindle-convert-in.*' EXIT

# secs OUT TOOL ARGS...: wall-clock seconds of one run writing OUT
# (removed first, so both tools create their target).
secs() {
    local out=$1 t0 t1
    shift
    rm -f "$out"
    t0=$(date +%s.%N)
    "$@" "$out" >/dev/null || { echo "error: $* failed" >&2; echo 0; return; }
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc
}

# row NAME INPUT INFMT ARGS...: best of $rounds each, alternating;
# $ours holds options for spindle-img only.
row() {
    local name=$1 in=$2 fmt=$3; shift 3
    local best_s=999999 best_q=999999 s q
    for _ in $(seq "$rounds"); do
        s=$(secs "$out_s" "$SIMG" convert ${ours:-} -f "$fmt" "$@" "$in")
        q=$(secs "$out_q" qemu-img convert -f "$fmt" "$@" "$in")
        best_s=$(echo "$s $best_s" | awk '{print ($1 < $2) ? $1 : $2}')
        best_q=$(echo "$q $best_q" | awk '{print ($1 < $2) ? $1 : $2}')
    done
    qemu-img compare -q "$out_s" "$out_q" ||
        { echo "error: $name: outputs differ" >&2; exit 1; }
    awk -v n="$name" -v s="$best_s" -v q="$best_q" 'BEGIN {
        printf "%-40s %9.3f %9.3f %7.2f\n", n, s, q, q / s }'
}

printf "%-40s %9s %9s %7s\n" "convert 1 GiB mixed" "spindle s" "qemu s" "ratio"
row "raw -> raw" "$src" raw -O raw -m 8
row "raw -> raw -W" "$src" raw -O raw -m 8 -W
# Spindle's default file I/O is aio=auto (io_uring); qemu-img's is threads.
ours="--aio=threads" row "raw -> raw (spindle --aio=threads)" \
    "$src" raw -O raw -m 8
row "raw -> raw -t none -T none" "$src" raw -O raw -m 8 -t none -T none
# Copy offloading: -S 0 (no zero detection: Spindle offloads) and -C.
row "raw -> raw -S 0" "$src" raw -O raw -m 8 -S 0
row "raw -> raw -C" "$src" raw -O raw -m 8 -C
if "$SIMG" convert -O qcow2 -o help >/dev/null 2>&1; then
    q2=$dir/spindle-convert-in.qcow2
    qemu-img convert -f raw -O qcow2 "$src" "$q2"
    row "raw -> qcow2" "$src" raw -O qcow2 -m 8
    row "qcow2 -> raw" "$q2" qcow2 -O raw -m 8
    row "raw -> qcow2 -S 0" "$src" raw -O qcow2 -m 8 -S 0
    row "qcow2 -> raw -S 0" "$q2" qcow2 -O raw -m 8 -S 0
    row "raw -> qcow2 -C" "$src" raw -O qcow2 -m 8 -C
    row "qcow2 -> raw -C" "$q2" qcow2 -O raw -m 8 -C
    if "$SIMG" convert -c -O qcow2 -f qcow2 "$q2" \
           "$out_s" 2>/dev/null; then
        for c in zlib zstd; do
            row "raw -> qcow2 -c ($c)" "$src" raw -O qcow2 -c \
                -o compression_type=$c -m 8
        done
    else
        echo "# compressed rows skipped: qcow2 has no compressed writes yet"
    fi
else
    echo "# qcow2 rows skipped: no qcow2 driver in this build"
fi
echo "# ratio = qemu s / spindle s, above 1 means spindle is faster"
