#!/bin/bash
# Interop: compressed qcow2 clusters between Spindle and QEMU, with
# qemu-img and qemu-io from qemu-utils as the peers.
#
#   QEMU -> ours: images compressed by `qemu-img convert -c` (zlib and
#                 zstd; 4K, 64K and 2M clusters) read identically through
#                 our library (`spindle-img compare` against the source).
#   ours -> QEMU: images we compress (compress-peer, bdrv_write_compressed)
#                 pass `qemu-img check`, compare equal to the source in
#                 `qemu-img compare`, and `qemu-img map` shows compressed
#                 extents (data without a host offset).  After we
#                 overwrite part of a compressed cluster (copy-on-write),
#                 the image stays clean and QEMU reads the merged data.
#
#   qcow2-compress-qemu.sh INTEROP_BUILD_DIR TOOLS_BUILD_DIR
#
# Prints TAP.  Without qemu-img/qemu-io or our programs it skips; zstd
# cases skip when the library was built without libzstd.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

bld=${1:-.}
. "$(dirname "$0")/tools-lib.sh"
need_peer qemu-io qemu-img
peer=$bld/image-peer
cpeer=$bld/compress-peer
[ -x "$peer" ] && [ -x "$cpeer" ] ||
    { echo "1..0 # SKIP image-peer or compress-peer was not built"; exit 0; }
log=$tmp/log

skip() {
    n=$((n + 1))
    echo "ok $n - $1 # SKIP $2"
}

# The source: text (compresses well), zeroes, random bytes (does not),
# text again, and a tail that leaves the last 64K and 2M clusters partial.
src=$tmp/src.raw
{
    seq 1 600000 | head -c 3M
    head -c 1M /dev/zero
    head -c 512k /dev/urandom
    seq 7 3 900000 | head -c 1500k
    head -c 12800 /dev/urandom
} >"$src"

have_zstd=yes
if ! "$peer" create qcow2 "$tmp/z.qcow2" 1M compression_type=zstd \
        >"$log" 2>&1; then
    grep -q libzstd "$log" || have_zstd=error
    [ "$have_zstd" = yes ] || have_zstd=no
fi

# has_compressed_extents IMAGE: qemu-img map lists data with no offset.
has_compressed_extents() {
    qemu-img map -f qcow2 --output=json "$1" >"$log" 2>&1 &&
        grep '"data": true' "$log" | grep -vq '"offset"'
}

# has_plain_extents IMAGE: and the random part is stored uncompressed.
has_plain_extents() {
    qemu-img map -f qcow2 --output=json "$1" >"$log" 2>&1 &&
        grep '"data": true' "$log" | grep -q '"offset"'
}

has_both_extents() {
    has_compressed_extents "$1" && has_plain_extents "$1"
}

ours_reads_like_src() {
    "$SIMG" compare -q -f qcow2 -F raw "$1" "$src"
}

for type in zlib zstd; do
    for cs in 4k 64k 2M; do
        if [ "$type" = zstd ] && [ "$have_zstd" != yes ]; then
            for t in "convert -c" "reads identically" "we compress" \
                     "qemu-img check" "qemu-img compare" "map"; do
                skip "$type $cs: $t" "built without libzstd"
            done
            continue
        fi
        q=$tmp/qemu-$type-$cs.qcow2
        o=$tmp/ours-$type-$cs.qcow2
        ok "$type $cs: qemu-img convert -c" \
            qemu-img convert -c -f raw -O qcow2 \
            -o "compression_type=$type,cluster_size=$cs" "$src" "$q"
        ok "$type $cs: QEMU's compressed image reads identically" \
            ours_reads_like_src "$q"
        ok "$type $cs: we compress the source" \
            sh -c '"$0" create qcow2 "$1" "$2" "$3" && "$4" "$1" "$5"' \
            "$peer" "$o" "$(stat -c %s "$src")" \
            "compression_type=$type,cluster_size=$cs" "$cpeer" "$src"
        ok "$type $cs: qemu-img check clean" qemu-img check -f qcow2 "$o"
        ok "$type $cs: qemu-img compare equal to the source" \
            qemu-img compare -f qcow2 -F raw "$o" "$src"
        # In 2M clusters, the random part shares clusters with text.
        if [ "$cs" = 2M ]; then
            ok "$type $cs: qemu-img map shows compressed extents" \
                has_compressed_extents "$o"
        else
            ok "$type $cs: qemu-img map shows compressed and plain" \
                has_both_extents "$o"
        fi
    done
done

# Copy-on-write over compressed clusters, both ways.
o=$tmp/ours-zlib-64k.qcow2
ok "partial overwrite of our compressed cluster" \
    "$peer" "$o" "write 70000 3000 171" "read 70000 3000 171"
ok "after the overwrite: qemu-img check clean" qemu-img check -f qcow2 "$o"
expected=$tmp/expected.raw
cp "$src" "$expected"
head -c 3000 /dev/zero | tr '\0' '\253' |
    dd of="$expected" bs=1 seek=70000 conv=notrunc status=none
ok "after the overwrite: QEMU reads the merged cluster" \
    qemu-img compare -f qcow2 -F raw "$o" "$expected"
q=$tmp/qemu-zlib-64k.qcow2
ok "QEMU overwrites part of its compressed cluster" \
    qemu-io -f qcow2 -c "write -P 0xcd 200000 5000" "$q"
ok "we read QEMU's merged cluster" \
    "$peer" -r "$q" "read 200000 5000 205"
ok "our write into QEMU's compressed image" \
    "$peer" "$q" "write 1000000 7000 17" "read 1000000 7000 17"
ok "after our write: qemu-img check clean" qemu-img check -f qcow2 "$q"

finish
