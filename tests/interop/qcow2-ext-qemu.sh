#!/bin/bash
# Interop: the qcow2 extensions between Spindle and QEMU (qemu-img and
# qemu-io from qemu-utils), both ways.
#
#   extended L2   ours: images with a backing file written by image-peer
#                 pass `qemu-img check`, read back in qemu-io, and
#                 `qemu-img map` shows exactly the subclusters written;
#                 QEMU's: written by qemu-io, read identically through
#                 us, and stay clean after our writes.
#   data file     the same with data_file= (and data_file_raw=on, whose
#                 data file must equal the converted disk).
#   bitmaps       bitmaps made by `qemu-img bitmap` (add, merge, disable,
#                 granularity) load with the right dirty bits; bitmaps we
#                 store are listed by `qemu-img info` with their flags,
#                 can be merged by qemu-img, and `qemu-img check` is clean.
#
#   qcow2-ext-qemu.sh INTEROP_BUILD_DIR TOOLS_BUILD_DIR
#
# Prints TAP; skips without qemu-img/qemu-io or image-peer.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tools-lib.sh"

peer=${1:-.}/image-peer
for prog in qemu-io qemu-img python3; do
    command -v "$prog" >/dev/null 2>&1 ||
        { echo "1..0 # SKIP $prog is not installed"; exit 0; }
done
[ -x "$peer" ] || { echo "1..0 # SKIP $peer was not built"; exit 0; }

# map_is IMAGE EXPECTED: the allocation of the top layer, one
# "start+length:zero|data" per line, as `qemu-img map` reports it.
map_is() {
    local got
    got=$(qemu-img map --output=json "$1" | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e["depth"] == 0 and e["present"]:
        print("%d+%d:%s" % (e["start"], e["length"],
                            "data" if e["data"] else "zero"))')
    echo "got:"; echo "$got"
    # shellcheck disable=SC2086 # one expected run per word
    [ "$got" = "$(printf '%s\n' $2)" ]
}

# bitmaps_are IMAGE "name:flags:granularity"...: `qemu-img info` lists
# exactly these bitmaps.
bitmaps_are() {
    local img=$1 got
    shift
    got=$(qemu-img info --output=json "$img" | python3 -c '
import json, sys
d = json.load(sys.stdin)["format-specific"]["data"]
for b in d.get("bitmaps", []):
    print("%s:%s:%d" % (b["name"], ",".join(b["flags"]), b["granularity"]))')
    echo "got:"; echo "$got"
    [ "$got" = "$(printf '%s\n' "$@")" ]
}

# ---- extended L2 -----------------------------------------------------

base=$tmp/base.qcow2
qemu-img create -q -f qcow2 "$base" 4M
qemu_io "$base" "write -P 0x11 0 4M" >/dev/null

img=$tmp/ours-l2.qcow2
ok "extl2 ours: create with a backing file and write" sh -c '
    "$0" create qcow2 "$1" 4M "extended_l2=on,backing_file=$2,backing_fmt=qcow2" &&
    "$0" "$1" "write 66048 1k 34" "write 200k 100k 51" "zero 1M 8k" \
        "write 2M 64k 68" "discard 2M 64k" "write 3M 512 85" \
        "write 3076k 2k 102"' "$peer" "$img" "$base"
ok "extl2 ours: qemu-img check clean" qemu-img check -q "$img"
ok "extl2 ours: qemu-img map shows the subclusters written" map_is "$img" \
    "65536+2048:data 204800+102400:data 1048576+8192:zero
     2097152+65536:zero 3145728+2048:data 3149824+2048:data"
ok "extl2 ours: qemu-io reads back" qemu_io -r "$img" \
    "read -P 0x11 0 66048" "read -P 0x22 66048 1k" \
    "read -P 0x11 67072 137728" "read -P 0x33 200k 100k" \
    "read -P 0 1M 8k" "read -P 0x11 1032k 1016k" "read -P 0 2M 64k" \
    "read -P 0x55 3M 512" "read -P 0x11 3146240 2560" \
    "read -P 0x66 3076k 2k" "read -P 0x11 3078k 1018k"

for cs in 16k 64k 2M; do
    img=$tmp/qemu-l2-$cs.qcow2
    ok "extl2 qemu $cs: create and write" sh -c '
        qemu-img create -q -f qcow2 -b "$2" -F qcow2 \
            -o "extended_l2=on,cluster_size=$1" "$0" 4M &&
        qemu-io -f qcow2 -c "write -P 0x22 66048 1k" \
            -c "write -P 0x33 200k 100k" -c "write -z 1M 8k" \
            -c "write -P 0x44 3M 2k" -c "write -z 3M 512" \
            -c "discard 2M 64k" "$0"' "$img" "$cs" "$base"
    ok "extl2 qemu $cs: reads identically through ours" "$peer" -r "$img" \
        "read 0 66048 17" "read 66048 1k 34" "read 67072 137728 17" \
        "read 200k 100k 51" "read 300k 724k 17" "read 1M 8k 0" \
        "read 1032k 1016k 17" "read 3M 512 0" "read 3146240 1536 68" \
        "read 3074k 1022k 17"
    ok "extl2 qemu $cs: our writes keep it clean" sh -c '
        "$0" "$1" "write 3M 512 85" "write 70k 30k 102" "zero 1M 4k" \
            "write 1028k 2k 119" && qemu-img check -q "$1"' "$peer" "$img"
    ok "extl2 qemu $cs: qemu-io reads our writes" qemu_io -r "$img" \
        "read -P 0x55 3M 512" "read -P 0x44 3146240 1536" \
        "read -P 0x66 70k 30k" "read -P 0x77 1028k 2k" "read -P 0 1M 4k" \
        "read -P 0 1030k 2k" "read -P 0x11 1032k 2k"
done

# ---- external data file ----------------------------------------------

for raw in off on; do
    img=$tmp/ours-df-$raw.qcow2
    ok "data file ours (raw=$raw): create and write" sh -c '
        "$0" create qcow2 "$1" 4M "data_file=$2,data_file_raw=$3" &&
        "$0" "$1" "write 0 64k 17" "write 100k 3k 34" "zero 1M 64k" \
            "write 2M 1M 51"' "$peer" "$img" "$tmp/ours-df-$raw.raw" "$raw"
    ok "data file ours (raw=$raw): qemu-img check clean" \
        qemu-img check -q "$img"
    ok "data file ours (raw=$raw): qemu-io reads back" qemu_io -r "$img" \
        "read -P 0x11 0 64k" "read -P 0x22 100k 3k" "read -P 0 1M 64k" \
        "read -P 0x33 2M 1M" "read -P 0 3M 1M"
done
ok "data file ours (raw=on): the data file is the disk" sh -c '
    qemu-img convert -O raw "$0" "$1" && cmp "$1" "$2"' \
    "$tmp/ours-df-on.qcow2" "$tmp/conv.raw" "$tmp/ours-df-on.raw"

img=$tmp/qemu-df.qcow2
ok "data file qemu: create and write" sh -c '
    qemu-img create -q -f qcow2 -o "data_file=$1" "$0" 4M &&
    qemu-io -f qcow2 -c "write -P 0x11 0 64k" -c "write -P 0x22 1M 3k" \
        -c "write -z 2M 64k" "$0"' "$img" "$tmp/qemu-df.raw"
ok "data file qemu: reads identically through ours" "$peer" -r "$img" \
    "read 0 64k 17" "read 64k 960k 0" "read 1M 3k 34" "read 2M 2M 0"
ok "data file qemu: our writes keep it clean" sh -c '
    "$0" "$1" "write 3M 10k 68" "write 1M 512 85" &&
    qemu-img check -q "$1"' "$peer" "$img"
ok "data file qemu: qemu-io reads our writes" qemu_io -r "$img" \
    "read -P 0x44 3M 10k" "read -P 0x55 1M 512" "read -P 0x22 1049088 2560"

# ---- persistent dirty bitmaps ----------------------------------------

img=$tmp/qemu-bm.qcow2
ok "bitmaps qemu: add, write, merge, disable" sh -c '
    qemu-img create -q -f qcow2 "$0" 16M &&
    qemu-img bitmap --add "$0" bm0 &&
    qemu-io -f qcow2 -c "write 1M 64k" -c "write 5M 1k" "$0" &&
    qemu-img bitmap --add -g 512k "$0" bm1 &&
    qemu-img bitmap --add "$0" frozen &&
    qemu-img bitmap --merge bm0 "$0" frozen &&
    qemu-img bitmap --disable "$0" frozen' "$img"
ok "bitmaps qemu: loaded with the right bits" "$peer" -r "$img" \
    "bitmap-expect bm0 1M 64k 1" "bitmap-expect bm0 5M 64k 1" \
    "bitmap-count bm0 128k" "bitmap-expect bm0 0 1M 0" \
    "bitmap-enabled bm0 1" "bitmap-granularity bm1 512k" \
    "bitmap-count bm1 0" "bitmap-enabled frozen 0" "bitmap-count frozen 128k"
ok "bitmaps qemu: our writes land in enabled bitmaps only" "$peer" "$img" \
    "write 8M 4k 1" "bitmap-expect bm0 8M 64k 1" "bitmap-count frozen 128k" \
    "bitmap-count bm1 512k"
ok "bitmaps qemu: stored back, qemu-img check clean" qemu-img check -q "$img"
ok "bitmaps qemu: qemu-img still lists them" bitmaps_are "$img" \
    "bm0:auto:65536" "bm1:auto:524288" "frozen::65536"

img=$tmp/ours-bm.qcow2
ok "bitmaps ours: create and store" sh -c '
    "$0" create qcow2 "$1" 16M &&
    "$0" "$1" "bitmap-add a 64k" "bitmap-add b 4k" "write 2M 8k 1" \
        "bitmap-disable b" "bitmap-dirty b 12M 8k" "write 3M 4k 2"' \
    "$peer" "$img"
ok "bitmaps ours: qemu-img info lists them" bitmaps_are "$img" \
    "a:auto:65536" "b::4096"
ok "bitmaps ours: qemu-img check clean" qemu-img check -q "$img"
ok "bitmaps ours: qemu-img merges them, and we read the result" sh -c '
    qemu-img bitmap --add -g 4k "$1" sum &&
    qemu-img bitmap --merge a "$1" sum &&
    qemu-img bitmap --merge b "$1" sum &&
    "$0" -r "$1" "bitmap-count sum 136k" "bitmap-expect sum 2M 64k 1" \
        "bitmap-expect sum 3M 64k 1" "bitmap-expect sum 12M 8k 1"' \
    "$peer" "$img"
ok "bitmaps ours: a released bitmap leaves the image" sh -c '
    "$0" "$1" "bitmap-remove b" && qemu-img check -q "$1" &&
    "$0" -r "$1" "bitmap-absent b" "bitmap-count a 128k"' "$peer" "$img"
ok "bitmaps ours: qemu-img sees the removal" bitmaps_are "$img" \
    "a:auto:65536" "sum:auto:4096"

finish
