#!/bin/bash
# Interop: qcow2 images combining features, between Spindle and QEMU.
#
#   ours -> QEMU   with and without extended L2: an image with compressed
#                  clusters (compress-peer, over a written one), plain and zero writes, a
#                  discard, a persistent bitmap (image-peer) and an
#                  internal snapshot (snapshot-peer) taken between writes
#                  passes `qemu-img check`, reads back in qemu-io, lists
#                  its snapshot and bitmap in `qemu-img info`; both
#                  refuse to revert to the snapshot while the bitmap is
#                  there, and once it is removed a copy reverted by
#                  `qemu-img snapshot -a` reads as it was.
#   QEMU -> ours   the same combination made by qemu-io (write -c, -z,
#                  discard), `qemu-img snapshot -c` and `qemu-img bitmap
#                  --add` passes our check (image-peer check) with the
#                  counts of `qemu-img check`; after a leak made by hand
#                  both find exactly that leak, our repair fixes it, and
#                  data, snapshot and bitmap survive; with the bitmap
#                  removed, our goto reverts to QEMU's snapshot.
#   data files     both refuse snapshots of an image with one.
#
#   qcow2-combo-qemu.sh INTEROP_BUILD_DIR TOOLS_BUILD_DIR
#
# Prints TAP; skips without qemu-img/qemu-io/python3 or the peers.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tools-lib.sh"

bld=${1:-.}
peer=$bld/image-peer
snap=$bld/snapshot-peer
cpeer=$bld/compress-peer
for prog in qemu-io qemu-img python3; do
    command -v "$prog" >/dev/null 2>&1 ||
        { echo "1..0 # SKIP $prog is not installed"; exit 0; }
done
for p in "$peer" "$snap" "$cpeer"; do
    [ -x "$p" ] || { echo "1..0 # SKIP $p was not built"; exit 0; }
done

# The guest disk both sides write, as qemu-io read patterns:
#   0-60k 17, 64k-128k 51 compressed (66k-70k: 34 after the snapshot),
#   192k-256k 68 with 200k-240k zeroed, 1M-1152k 85 (its first 64k
#   discarded after the snapshot).
READS_NOW=("read -P 17 0 60k" "read -P 0 60k 4k" "read -P 51 64k 2k"
           "read -P 34 66k 4k" "read -P 51 70k 58k" "read -P 68 192k 8k"
           "read -P 0 200k 40k" "read -P 68 240k 16k" "read -P 0 1M 64k"
           "read -P 85 1088k 64k")
READS_SNAP=("read -P 17 0 60k" "read -P 51 64k 64k" "read -P 0 200k 40k"
            "read -P 85 1M 128k")

# The same reads through us.
ours_read_now() {
    "$peer" -r "$1" "read 0 60k 17" "read 60k 4k 0" "read 64k 2k 51" \
        "read 66k 4k 34" "read 70k 58k 51" "read 192k 8k 68" \
        "read 200k 40k 0" "read 240k 16k 68" "read 1M 64k 0" \
        "read 1088k 64k 85"
}

# A raw file whose second 64k cluster is byte 51 (the rest zeroes).
make_comp_raw() {
    python3 -c '
import sys
with open(sys.argv[1], "wb") as f:
    f.write(bytes(65536) + bytes([51]) * 65536 + bytes(4 * 1048576 - 131072))
' "$1"
}

# Raise the refcount (16-bit) of the header cluster to 2: one leak.
leak_header_cluster() {
    python3 -c '
import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(48); rt = struct.unpack(">Q", f.read(8))[0]
    f.seek(rt); blk = struct.unpack(">Q", f.read(8))[0] & ~511
    f.seek(blk); f.write(struct.pack(">H", 2))
' "$1"
}

# json_field FILE NAME: a number from qemu-img's JSON (absent means 0).
json_field() {
    local v
    v=$(sed -n "s/.*\"$2\": *\([0-9]*\).*/\1/p" "$1" | head -n 1)
    echo "${v:-0}"
}

# same_counts IMAGE LEAKS: qemu-img check and ours find LEAKS leaks and
# no corruption.
same_counts() {
    local img=$1 want=$2 q p
    qemu-img check --output=json "$img" >"$tmp/q.json" 2>/dev/null
    "$peer" check "$img" >"$tmp/p.out" 2>&1
    cat "$tmp/q.json" "$tmp/p.out"
    for f in leaks corruptions; do
        q=$(json_field "$tmp/q.json" "$f")
        p=$(sed -n "s/^$f=//p" "$tmp/p.out")
        [ "$q" = "$p" ] || { echo "$f: qemu-img $q, ours $p"; return 1; }
    done
    [ "$(json_field "$tmp/q.json" leaks)" = "$want" ] &&
        [ "$(json_field "$tmp/q.json" corruptions)" = 0 ]
}

has_snapshot_and_bitmap() {
    qemu-img snapshot -l "$1" | grep -qw s1 &&
        qemu-img info --output=json "$1" | grep -q '"name": "b0"'
}

# ---- ours -> QEMU ------------------------------------------------------

ours_build() {
    local img=$1 extl2=$2
    rm -f "$img"
    "$peer" create qcow2 "$img" 4M "cluster_size=64k,extended_l2=$extl2" &&
        "$peer" "$img" "write 64k 64k 7" &&
        "$cpeer" "$img" "$tmp/comp.raw" &&
        "$peer" "$img" "write 0 60k 17" "write 192k 64k 68" \
            "zero 200k 40k" "write 1M 128k 85" "bitmap-add b0 64k" \
            "bitmap-dirty b0 0 1M" &&
        "$snap" "$img" "create s1" &&
        "$peer" "$img" "write 66k 4k 34" "discard 1M 64k" \
            "bitmap-expect b0 0 1M 1"
}

ours_to_qemu() {
    local img=$tmp/ours.qcow2
    ours_build "$img" "$1" &&
        qemu-img check "$img" &&
        qemu_io -r "$img" "${READS_NOW[@]}" &&
        has_snapshot_and_bitmap "$img" &&
        same_counts "$img" 0 &&
        ! qemu-img snapshot -a s1 "$img" &&
        ! "$snap" "$img" "goto s1" &&
        cp "$img" "$tmp/ours-copy.qcow2" &&
        "$peer" "$tmp/ours-copy.qcow2" "bitmap-remove b0" &&
        qemu-img snapshot -a s1 "$tmp/ours-copy.qcow2" &&
        qemu-img check "$tmp/ours-copy.qcow2" &&
        qemu_io -r "$tmp/ours-copy.qcow2" "${READS_SNAP[@]}"
}

# ---- QEMU -> ours ------------------------------------------------------

qemu_build() {
    local img=$1 extl2=$2
    rm -f "$img"
    qemu-img create -q -f qcow2 -o "cluster_size=64k,extended_l2=$extl2" \
        "$img" 4M &&
        qemu_io "$img" "write -c -P 51 64k 64k" "write -P 17 0 60k" \
            "write -P 68 192k 64k" "write -z 200k 40k" \
            "write -P 85 1M 128k" &&
        qemu-img snapshot -c s1 "$img" &&
        qemu_io "$img" "write -P 34 66k 4k" "discard 1M 64k" &&
        qemu-img bitmap --add "$img" b0
}

qemu_to_ours() {
    local img=$tmp/qemu.qcow2
    qemu_build "$img" "$1" &&
        same_counts "$img" 0 &&
        ours_read_now "$img" &&
        leak_header_cluster "$img" &&
        same_counts "$img" 1 &&
        "$peer" check -r leaks "$img" &&
        same_counts "$img" 0 &&
        qemu-img check "$img" &&
        has_snapshot_and_bitmap "$img" &&
        ours_read_now "$img" &&
        qemu_io -r "$img" "${READS_NOW[@]}" &&
        qemu-img bitmap --remove "$img" b0 &&
        "$snap" "$img" "goto s1" &&
        "$peer" -r "$img" "read 64k 64k 51" "read 1M 128k 85" &&
        same_counts "$img" 0
}

# ---- data files --------------------------------------------------------

no_snapshot_with_data_file() {
    local img=$tmp/df.qcow2
    rm -f "$img" "$tmp/df.data"
    qemu-img create -q -f qcow2 -o "data_file=$tmp/df.data" "$img" 4M &&
        ! qemu-img snapshot -c s1 "$img" &&
        ! "$snap" "$img" "create s1" &&
        "$peer" "$img" "write 0 64k 17" &&
        same_counts "$img" 0 &&
        qemu_io -r "$img" "read -P 17 0 64k"
}

make_comp_raw "$tmp/comp.raw"
echo "1..5"
ok "ours -> QEMU: compression, zero, discard, bitmap, snapshot" \
    ours_to_qemu off
ok "ours -> QEMU: the same with extended L2" ours_to_qemu on
ok "QEMU -> ours: the same combination, check counts and leak repair" \
    qemu_to_ours off
ok "QEMU -> ours: the same with extended L2" qemu_to_ours on
ok "an external data file: both refuse snapshots" no_snapshot_with_data_file
exit $failed
