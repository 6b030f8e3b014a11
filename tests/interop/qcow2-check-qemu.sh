#!/bin/bash
# Interop: qcow2 check and repair against qemu-img check, on images
# damaged on purpose (qcow2-poke.py): a leaked cluster (in the middle of
# the file, and its last cluster), a refcount of 0 for a used cluster,
# an L2 entry past the end of the file, a misaligned L2 entry, a
# misaligned refcount block, the file cut short.  Our check (image-peer
# check) must find what `qemu-img check --output=json` finds (corruptions,
# leaks, check errors, image end, allocated clusters), and after the
# same repair on two copies (ours, QEMU's) qemu-img must find the same
# left on both (the image end aside: QEMU repairs a refcount that is too
# low by rebuilding all refcounts elsewhere, we raise it in place).  The
# misaligned refcount block is repaired by us only (QEMU 7.2 fails to):
# qemu-img must then find the image clean, and the data must read back.
# Images cut short are compared as found, not as repaired.
#
#   qcow2-check-qemu.sh BUILD_DIR     (the folder holding image-peer)
#
# Prints TAP; skips without qemu-img, python3 or image-peer.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

bld=${1:-.}
peer=$bld/image-peer
poke=$(dirname "$0")/qcow2-poke.py

for prog in qemu-img python3; do
    if ! command -v "$prog" >/dev/null 2>&1; then
        echo "1..0 # SKIP $prog is not installed"
        exit 0
    fi
done
if [ ! -x "$peer" ]; then
    echo "1..0 # SKIP $peer was not built"
    exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/spindle-q2check-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log=$tmp/log
n=0
failed=0

# The fields both report, as one line; $1 = "qemu" or "ours", $2 image,
# further arguments go to the checker (-r ...).
summary() {
    local who=$1 img=$2 out=$tmp/out
    shift 2
    if [ "$who" = qemu ]; then
        qemu-img check "$@" --output=json "$img" >"$out" 2>>"$log"
        for f in corruptions leaks check-errors image-end-offset \
                 allocated-clusters; do
            v=$(sed -n "s/.*\"$f\": *\([0-9]*\).*/\1/p" "$out" | tail -n 1)
            printf '%s=%s ' "$f" "${v:-0}"
        done
    else
        "$peer" check "$@" "$img" >"$out" 2>>"$log"
        for f in corruptions leaks check_errors image_end_offset \
                 allocated_clusters; do
            printf '%s=%s ' "${f//_/-}" "$(sed -n "s/^$f=//p" "$out")"
        done
    fi
}

# base IMAGE: 4k clusters, data at 0 (64k) and 1M (8k).
base() {
    qemu-img create -q -f qcow2 -o cluster_size=4k "$1" 8M &&
    "$peer" "$1" "write 0 64k 90" "write 1M 8k 91"
}

# same A B TITLE: one TAP line, ok when A (QEMU's) and B (ours) are equal.
same() {
    n=$((n + 1))
    if [ "$1" = "$2" ]; then
        echo "ok $n $3 $1"
    else
        failed=$((failed + 1))
        echo "not ok $n $3: '$1' (QEMU) vs '$2' (ours)"
        sed 's/^/# /' "$log"
    fi
}

# case NAME REPAIR POKE...: damage, compare, repair both ways, compare.
case_() {
    local name=$1 repair=$2 img=$tmp/$1.qcow2 q o
    shift 2
    : >"$log"
    if ! base "$img" >>"$log" 2>&1 || ! "$@" >>"$log" 2>&1; then
        echo "could not make the image" >>"$log"
    fi
    q=$(summary qemu "$img")
    o=$(summary ours "$img")
    same "$q" "$o" "$name: qemu-img and we find"
    cp "$img" "$tmp/q.qcow2"
    summary qemu "$tmp/q.qcow2" -r "$repair" >/dev/null
    summary ours "$img" -r "$repair" >/dev/null
    # QEMU rebuilds the whole refcount structure for a refcount that is
    # too low, we raise it in place: the image end may differ.
    q=$(summary qemu "$tmp/q.qcow2" | sed 's/image-end-offset=[0-9]* //')
    o=$(summary qemu "$img" | sed 's/image-end-offset=[0-9]* //')
    same "$q" "$o" "$name: after -r $repair, qemu-img finds on both"
}

l2get() {
    python3 "$poke" "$1" l2get "$2"
}

leak() { python3 "$poke" "$1" l2 1048576 0; }
# the last cluster of the file leaks: it still counts for the image end
leak_end() { python3 "$poke" "$1" l2 $((1048576 + 4096)) 0; }
refcount_zero() {
    local e
    e=$(l2get "$1" 0)
    python3 "$poke" "$1" refcount $(( (e & 0x00fffffffffffe00) >> 12 )) 0
}
outside() { python3 "$poke" "$1" l2 1048576 $(( (1 << 63) | (1 << 30) )); }
misaligned() {
    local e
    e=$(l2get "$1" 8192)
    python3 "$poke" "$1" l2 8192 $(( e + 512 ))
}
# refcount block 0 moved half a sector past a cluster boundary: neither
# check can trust the refcounts; -r all rebuilds them.
misaligned_refblock() {
    local e
    e=$(python3 "$poke" "$1" rtget 0)
    python3 "$poke" "$1" rt 0 $(( e + 512 ))
}

echo "1..17"
case_ clean leaks true "$tmp/clean.qcow2"
case_ leak leaks leak "$tmp/leak.qcow2"
case_ leak-at-end leaks leak_end "$tmp/leak-at-end.qcow2"
case_ refcount-zero all refcount_zero "$tmp/refcount-zero.qcow2"
case_ outside all outside "$tmp/outside.qcow2"
case_ misaligned all misaligned "$tmp/misaligned.qcow2"
# The file cut short in the L2 table, in a data cluster, at the start of
# one: the same findings (both read what the cut leaves, zeroes past it).
# The repairs are not compared: which references past the end they drop
# differs.
img=$tmp/cut.qcow2
: >"$log"
base "$img" >>"$log" 2>&1 || echo "could not make the image" >>"$log"
l2=$(( $(python3 "$poke" "$img" l1get 0) & 0x00fffffffffffe00 ))
data=$(( $(l2get "$img" 8192) & 0x00fffffffffffe00 ))
for cut in "L2-table $((l2 + 2048))" "data-cluster $((data + 100))" \
           "data-start $data"; do
    set -- $cut
    cp "$img" "$tmp/cut-$1.qcow2"
    truncate -s "$2" "$tmp/cut-$1.qcow2"
    same "$(summary qemu "$tmp/cut-$1.qcow2")" \
         "$(summary ours "$tmp/cut-$1.qcow2")" \
         "cut in the $1 ($2 bytes): qemu-img and we find"
done

# QEMU (7.2) marks the image corrupt while it checks a misaligned
# refcount block and then cannot write the rebuilt refcounts: compare
# the findings, then only our repair, which must leave a clean image with
# the data intact.
img=$tmp/misaligned-refblock.qcow2
: >"$log"
base "$img" >>"$log" 2>&1 && misaligned_refblock "$img" >>"$log" 2>&1 ||
    echo "could not make the image" >>"$log"
same "$(summary qemu "$img")" "$(summary ours "$img")" \
    "misaligned-refblock: qemu-img and we find"
summary ours "$img" -r all >/dev/null
o=$(summary qemu "$img" | sed 's/image-end-offset=[0-9]* //')
if ! "$peer" -r "$img" "read 0 64k 90" "read 1M 8k 91" >>"$log" 2>&1; then
    o="$o data-lost"
fi
same "corruptions=0 leaks=0 check-errors=0 allocated-clusters=18 " "$o" \
    "misaligned-refblock: after our -r all, qemu-img finds"
[ "$failed" = 0 ]
