#!/bin/bash
# spindle-img bench against qemu-img bench, same options, alternating in
# one run; fio on the same file as the physical limit.  Prints the IOPS
# of each tool's best run, and the ratio spindle / qemu of the best runs
# and of the median runs (above 1: Spindle is faster).
#   bench-img.sh BUILD_DIR [ROUNDS]     (default 5 runs per tool and row)
# Cases: null-co 4 KiB reads and writes at depth 1 and 64 (read-zeroes=off
# on both sides: qemu 7.2's default, and it measures the request path
# alone); then a fully written 1 GiB raw file read with O_DIRECT (-t none)
# through io_uring and threads, 4 KiB at depth 64.  qemu-img bench has no
# random mode, so both tools step through the file with -S 1 MiB + 4 KiB
# (a strided pattern that defeats readahead); fio does true random reads.
# Last, qcow2: reads of allocated and unallocated clusters, overwrites and
# allocating writes, 4 KiB at depth 64, with the default cache mode.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
b=${1:-build-bench}
rounds=${2:-5}
SIMG=$b/tools/spindle-img/spindle-img
command -v qemu-img >/dev/null || { echo "error: qemu-img missing" >&2; exit 1; }
[ -x "$SIMG" ] || { echo "error: $SIMG not built" >&2; exit 1; }

# secs TOOL ARGS...: seconds of one bench run.
secs() {
    "$@" 2>/dev/null | sed -n 's/^Run completed in \([0-9.]*\) seconds\./\1/p'
}

# report NAME COUNT "SPINDLE_SECS..." "QEMU_SECS...": IOPS of each tool's
# best run, the ratio of the best runs and the ratio of the medians (the
# host's disk answers some runs much slower than others, and not the same
# ones for both tools: the two ratios together show how far to trust it).
report() {
    awk -v n="$1" -v c="$2" -v s="$3" -v q="$4" '
        function sorted(str, a,   k, i, j, t) {
            k = split(str, a, " ")
            for (i = 2; i <= k; i++)
                for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
                    t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
                }
            return k
        }
        function median(a, k) {
            return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
        }
        BEGIN {
            ks = sorted(s, as); kq = sorted(q, aq)
            printf "%-34s %12.0f %12.0f %7.2f %7.2f\n", n, c / as[1],
                   c / aq[1], aq[1] / as[1], median(aq, kq) / median(as, ks)
        }'
}

# row NAME COUNT ARGS...: $rounds runs of each tool, alternating.
row() {
    local name=$1 count=$2; shift 2
    local ts="" tq=""
    for _ in $(seq "$rounds"); do
        ts="$ts $(secs "$SIMG" bench -c "$count" "$@")"
        tq="$tq $(secs qemu-img bench -c "$count" "$@")"
    done
    report "$name" "$count" "$ts" "$tq"
}

printf "%-34s %12s %12s %7s %7s\n" "case (4 KiB)" "spindle IOPS" "qemu IOPS" \
    "ratio" "median"
null="--image-opts driver=null-co,read-zeroes=off"
for d in 1 64; do
    row "null-co read  depth $d" 500000 -d $d $null
    row "null-co write depth $d" 500000 -d $d -w $null
done

img=${BENCH_IMG_DIR:-/var/tmp}/spindle-bench-1g.raw
if [ ! -s "$img" ]; then
    head -c 1073741824 /dev/urandom >"$img"
fi
step=$((1048576 + 4096))
for aio in io_uring threads; do
    row "file read -t none -i $aio d64" 100000 -f raw -t none -i $aio \
        -d 64 -S $step "$img"
done
# fio: the device's limit through io_uring at depth 64, and through 64
# threads each in a blocking pread (what aio=threads can at best reach).
fio_row() {
    local name=$1; shift
    fio --name=r --filename="$img" --direct=1 --rw=randread --bs=4k \
        --runtime=5 --time_based --output-format=terse --terse-version=3 \
        "$@" 2>/dev/null |
        awk -F';' -v n="$name" '{ printf "%-34s %12.0f %12s %7s %7s\n",
                                  n, $8, "-", "-", "-" }'
}
if command -v fio >/dev/null; then
    fio_row "fio randread io_uring d64" --iodepth=64 --ioengine=io_uring
    fio_row "fio randread psync 64 threads" --ioengine=psync --numjobs=64 \
        --thread --group_reporting
fi
# qcow2 (default cache, as qemu-img bench runs by default): the 1 GiB
# file converted to a fully allocated qcow2, and an empty one; the
# allocating-write row gets a fresh empty image before every run.
qa=${BENCH_IMG_DIR:-/var/tmp}/spindle-bench-alloc.qcow2
qe=${BENCH_IMG_DIR:-/var/tmp}/spindle-bench-empty.qcow2
qf=${BENCH_IMG_DIR:-/var/tmp}/spindle-bench-fresh.qcow2
[ -s "$qa" ] || qemu-img convert -O qcow2 "$img" "$qa"
[ -s "$qe" ] || qemu-img create -q -f qcow2 "$qe" 1G
row "qcow2 read allocated d64" 200000 -f qcow2 -d 64 -S $step "$qa"
row "qcow2 read unallocated d64" 200000 -f qcow2 -d 64 -S $step "$qe"
row "qcow2 overwrite d64" 100000 -w -f qcow2 -d 64 -S $step "$qa"

# row_fresh NAME COUNT ARGS...: as row, on a new empty qcow2 each run.
row_fresh() {
    local name=$1 count=$2; shift 2
    local ts="" tq=""
    for _ in $(seq "$rounds"); do
        qemu-img create -q -f qcow2 "$qf" 1G
        ts="$ts $(secs "$SIMG" bench -c "$count" "$@" "$qf")"
        qemu-img create -q -f qcow2 "$qf" 1G
        tq="$tq $(secs qemu-img bench -c "$count" "$@" "$qf")"
    done
    rm -f "$qf"
    report "$name" "$count" "$ts" "$tq"
}
row_fresh "qcow2 allocating write d64" 100000 -w -f qcow2 -d 64 -S $step

echo "# ratio = spindle IOPS / qemu IOPS of the best runs, median = the same"
echo "# for the median runs; above 1 means spindle is faster"
