#!/bin/bash
# Interop: qcow2 images between Spindle and QEMU, with qemu-img and
# qemu-io from qemu-utils as the peers.
#
#   ours -> QEMU: images created and written by our library (image-peer)
#                 across cluster sizes, compat levels, refcount widths,
#                 lazy refcounts, preallocation, zero clusters, discard,
#                 refcount table growth and backing chains must pass
#                 `qemu-img check` with no errors or leaks and read back
#                 in qemu-io with `read -P`.
#   QEMU -> ours: images created and written by qemu-img/qemu-io (4K, 64K
#                 and 2M clusters, compat 0.10 and 1.1, lazy refcounts,
#                 zero clusters, backing chains) must read identically
#                 through our library; after we write into them,
#                 `qemu-img check` must stay clean.
#
#   qcow2-qemu.sh BUILD_DIR     (the folder holding image-peer)
#
# Prints TAP.  Without qemu-img/qemu-io (or image-peer) it skips.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

bld=${1:-.}
peer=$bld/image-peer

for prog in qemu-io qemu-img; do
    if ! command -v "$prog" >/dev/null 2>&1; then
        echo "1..0 # SKIP $prog is not installed (Debian package qemu-utils)"
        exit 0
    fi
done
if [ ! -x "$peer" ]; then
    echo "1..0 # SKIP $peer was not built"
    exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/spindle-qcow2-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log=$tmp/log
n=0
failed=0

ok() {
    n=$((n + 1))
    echo "ok $n $1"
}

not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n $1"
    sed 's/^/# /' "$log"
}

# check NAME COMMAND...: one TAP line for a command that must succeed.
check() {
    local name=$1
    shift
    if "$@" >"$log" 2>&1; then
        ok "$name"
    else
        not_ok "$name"
    fi
}

# qemu-img check with no errors and no leaks (exit status 0).
qemu_check() {
    qemu-img check -f qcow2 "$1" >"$log" 2>&1
}

# qemu_reads IMAGE "read -P ..."...: every pattern must verify.
qemu_reads() {
    local img=$1 args=()
    shift
    for c in "$@"; do
        args+=(-c "$c")
    done
    qemu-io -r -f qcow2 "${args[@]}" "$img" >"$log" 2>&1 &&
        ! grep -qiE "fail|error|mismatch" "$log"
}

# qemu_writes IMAGE "write ..."...
qemu_writes() {
    local img=$1 args=()
    shift
    for c in "$@"; do
        args+=(-c "$c")
    done
    qemu-io -f qcow2 "${args[@]}" "$img" >"$log" 2>&1 &&
        ! grep -qiE "fail|error" "$log"
}

# qemu_create_write IMAGE OPTIONS "write ..."...
qemu_create_write() {
    local img=$1 opts=$2
    shift 2
    qemu-img create -q -f qcow2 -o "$opts" "$img" 16M >"$log" 2>&1 &&
        qemu_writes "$img" "$@"
}

echo "1..55"

# ---- ours -> QEMU ------------------------------------------------------

for variant in "cluster_size=512,compat=0.10" "cluster_size=512" \
               "cluster_size=4k,refcount_bits=1" \
               "cluster_size=4k,refcount_bits=64" \
               "cluster_size=64k,compat=0.10" "cluster_size=64k" \
               "cluster_size=64k,lazy_refcounts=on,refcount_bits=8" \
               "cluster_size=2M,compat=0.10" "cluster_size=2M"; do
    img=$tmp/ours.qcow2
    rm -f "$img"
    cmds=("write 0 64k 170" "write 102400 1k 187" "write 5M 3M 204"
          "write 30M 4k 221" "discard 6M 1M")
    reads=("read -P 0xaa 0 64k" "read -P 0xbb 100k 1k" "read -P 0 101k 3k"
           "read -P 0xcc 5M 1M" "read -P 0xcc 7M 1M" "read -P 0xdd 30M 4k")
    case $variant in
    *compat=0.10*) ;;
    *)
        cmds+=("zero 7M 512k")
        reads=("${reads[@]:0:4}" "read -P 0 7M 512k" "read -P 0xcc 7680k 512k"
               "read -P 0xdd 30M 4k")
        ;;
    esac
    check "ours $variant: create and write" \
        sh -c '"$0" create qcow2 "$1" 32M "$2" && shift 2 && "$0" "$@"' \
        "$peer" "$img" "$variant" "$img" "${cmds[@]}"
    check "ours $variant: qemu-img check clean" qemu_check "$img"
    check "ours $variant: qemu-io reads back" qemu_reads "$img" "${reads[@]}"
done

img=$tmp/grow.qcow2
check "ours: refcount table growth (512 B clusters, 64-bit refcounts)" \
    sh -c '"$0" create qcow2 "$1" 64M cluster_size=512,refcount_bits=64 &&
           "$0" "$1" "write 0 24M 90" "truncate 128M" "write 100M 1M 91"' \
    "$peer" "$img"
check "ours: grown image qemu-img check clean" qemu_check "$img"
check "ours: grown image reads back" qemu_reads "$img" \
    "read -P 0x5a 0 24M" "read -P 0x5b 100M 1M" "read -P 0 120M 1M"

img=$tmp/prealloc.qcow2
check "ours: preallocation=metadata" \
    "$peer" create qcow2 "$img" 16M preallocation=metadata
check "ours: preallocated image qemu-img check clean" qemu_check "$img"

base=$tmp/base.qcow2
top=$tmp/top.qcow2
check "ours: backing chain" sh -c '
    "$0" create qcow2 "$1" 4M cluster_size=64k &&
    "$0" "$1" "write 0 4M 17" &&
    "$0" create qcow2 "$2" 8M "backing_file=$1,backing_fmt=qcow2" &&
    "$0" "$2" "write 66048 1k 34"' "$peer" "$base" "$top"
check "ours: overlay qemu-img check clean" qemu_check "$top"
check "ours: overlay reads through qemu-io" qemu_reads "$top" \
    "read -P 0x11 0 66048" "read -P 0x22 66048 1k" \
    "read -P 0x11 67072 1M" "read -P 0 4M 4M"

# ---- QEMU -> ours ------------------------------------------------------

for variant in "cluster_size=4k,compat=0.10" "cluster_size=4k" \
               "cluster_size=64k,compat=0.10" \
               "cluster_size=64k,lazy_refcounts=on" \
               "cluster_size=2M,compat=0.10" "cluster_size=2M"; do
    img=$tmp/qemu.qcow2
    rm -f "$img"
    writes=("write -P 0xaa 0 64k" "write -P 0xbb 70k 3k"
            "write -P 0xcc 3M 2M")
    reads=("read 0 64k 170" "read 64k 6k 0" "read 70k 3k 187"
           "read 3M 2M 204" "read 5M 1M 0")
    case $variant in
    *compat=0.10*) ;;
    *)
        writes+=("write -z 4M 1M")
        reads=("read 0 64k 170" "read 64k 6k 0" "read 70k 3k 187"
               "read 3M 1M 204" "read 4M 2M 0")
        ;;
    esac
    check "qemu $variant: create and write" qemu_create_write "$img" \
        "$variant" "${writes[@]}"
    check "qemu $variant: reads identically through ours" \
        "$peer" -r "$img" "${reads[@]}"
    check "qemu $variant: our writes keep it clean" sh -c '
        "$0" "$1" "write 100k 10k 238" "write 8M 1M 239" &&
        qemu-img check -q -f qcow2 "$1"' "$peer" "$img"
done

base=$tmp/qbase.qcow2
top=$tmp/qtop.qcow2
rm -f "$base" "$top"
check "qemu: backing chain" sh -c '
    qemu-img create -q -f qcow2 "$0" 4M &&
    qemu-io -f qcow2 -c "write -P 0x11 0 4M" "$0" >/dev/null &&
    qemu-img create -q -f qcow2 -b "$0" -F qcow2 "$1" 8M &&
    qemu-io -f qcow2 -c "write -P 0x22 1049088 1k" "$1" >/dev/null' \
    "$base" "$top"
check "qemu: overlay reads through ours" "$peer" -r "$top" \
    "read 0 1049088 17" "read 1049088 1k 34" "read 1050112 3144192 17" \
    "read 4M 4M 0"

if [ "$n" -ne 55 ]; then
    echo "# planned 55 tests, ran $n"
    exit 1
fi
exit 0
