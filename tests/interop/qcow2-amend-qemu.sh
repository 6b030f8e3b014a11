#!/bin/bash
# Interop: `spindle-img amend` on qcow2 images made by qemu-img and by
# us, judged by qemu-img 7.2.
#
#   changes   compat up and down, lazy_refcounts, refcount_bits, size:
#             after each `qemu-img check` is clean, `qemu-img info`
#             shows the new value and `qemu-img compare` finds the data
#             of a copy taken before.
#   zeroes    a downgrade turns zero clusters (with and without a host
#             cluster, with and without a backing file, in a snapshot)
#             into something version 2 reads as zeroes.
#   errors    refusals give qemu-img amend's message (and hint) and exit
#             status, on copies of the same image.
#
#   qcow2-amend-qemu.sh INTEROP_BUILD_DIR TOOLS_BUILD_DIR
#
# Prints TAP; skips without qemu-img/qemu-io.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tools-lib.sh"
need_peer qemu-img qemu-io python3

# field IMAGE KEY: a format-specific field of `qemu-img info`.
field() {
    qemu-img info --output=json "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(str(d["format-specific"]["data"].get(sys.argv[1])).lower())' "$2"
}

# amended IMAGE OPTIONS KEY=VALUE...: amend a copy of IMAGE.ref-free
# IMAGE; then check clean, info fields as given, data as before.
amended() {
    local img=$1 opts=$2 kv
    shift 2
    cp "$img" "$tmp/before.qcow2"
    $SIMG amend -f qcow2 -o "$opts" "$img" || return 1
    qemu-img check -f qcow2 "$img" || return 1
    for kv in "$@"; do
        [ "$(field "$img" "${kv%%=*}")" = "${kv#*=}" ] ||
            { echo "${kv%%=*} is $(field "$img" "${kv%%=*}")"; return 1; }
    done
    qemu-img compare -f qcow2 -F qcow2 "$tmp/before.qcow2" "$img"
}

# same_refusal IMAGE OPTIONS: both tools refuse on copies of IMAGE with
# the same status and message (hint lines included).
same_refusal() {
    local ours theirs
    cp "$1" "$tmp/ours.qcow2"
    cp "$1" "$tmp/theirs.qcow2"
    $SIMG amend -f qcow2 -o "$2" "$tmp/ours.qcow2" 2>"$tmp/e1"; ours=$?
    qemu-img amend -f qcow2 -o "$2" "$tmp/theirs.qcow2" 2>"$tmp/e2"
    theirs=$?
    sed -i 's/^spindle-img: //' "$tmp/e1"
    sed -i 's/^qemu-img: //' "$tmp/e2"
    echo "ours $ours, qemu-img $theirs"
    [ "$ours" -eq "$theirs" ] && [ "$ours" -ne 0 ] &&
        diff "$tmp/e1" "$tmp/e2" && qemu-img check -q "$tmp/ours.qcow2"
}

# ---- images ------------------------------------------------------------
q2=$tmp/q2.qcow2
ok "qemu-img: a v2 image with data and a snapshot" sh -c "
    qemu-img create -q -f qcow2 -o compat=0.10 '$q2' 8M &&
    qemu-io -f qcow2 -c 'write -q -P 7 0 128k' -c 'write -q -P 9 3M 64k' \
        '$q2' && qemu-img snapshot -c s1 '$q2' &&
    qemu-io -f qcow2 -c 'write -q -P 5 0 64k' '$q2'"
ours=$tmp/ours3.qcow2
ok "spindle-img: a v3 image with data" sh -c "
    $SIMG create -q -f qcow2 '$ours' 8M &&
    qemu-io -f qcow2 -c 'write -q -P 3 1M 192k' '$ours'"

# ---- changes -----------------------------------------------------------
ok "qemu v2 -> compat=1.1" amended "$q2" compat=1.1 compat=1.1
ok "lazy_refcounts=on" amended "$q2" lazy_refcounts=on lazy-refcounts=true
ok "write with lazy refcounts, then lazy_refcounts=off" sh -c "
    qemu-io -f qcow2 -c 'write -q -P 4 5M 64k' '$q2' &&
    $SIMG amend -f qcow2 -o lazy_refcounts=off '$q2' &&
    qemu-img check -q '$q2' &&
    [ \"\$(qemu-img info --output=json '$q2' | grep -c '\"dirty-flag\": true')\" = 0 ]"
ok "lazy-refcounts now false" [ "$(field "$q2" lazy-refcounts)" = false ]
ok "refcount_bits=8 with a snapshot" amended "$q2" refcount_bits=8 \
    refcount-bits=8
ok "refcount_bits=2" amended "$q2" refcount_bits=2 refcount-bits=2
ok "refcount_bits=1 refused (snapshot: refcount 2)" \
    same_refusal "$q2" refcount_bits=1
ok "refcount_bits=64" amended "$q2" refcount_bits=64 refcount-bits=64
ok "compat=0.10 needs 16-bit refcounts" same_refusal "$q2" compat=0.10
ok "refcount_bits=16,compat=0.10 back to v2" amended "$q2" \
    refcount_bits=16,compat=0.10 compat=0.10 refcount-bits=16
ok "the snapshot still reads its data" sh -c "
    qemu-img snapshot -a s1 '$q2' &&
    qemu-io -f qcow2 -c 'read -q -P 7 0 128k' -c 'read -q -P 9 3M 64k' '$q2'"

ok "ours v3 -> refcount_bits=4" amended "$ours" refcount_bits=4 \
    refcount-bits=4
ok "ours: size=16M" sh -c "$SIMG amend -f qcow2 -o size=16M '$ours' &&
    qemu-img check -q '$ours' &&
    [ \$(qemu-img info --output=json '$ours' | python3 -c \
        'import json,sys; print(json.load(sys.stdin)[\"virtual-size\"])') = 16777216 ]"
ok "ours: backing_file unchanged is accepted, a change refused" sh -c "
    cp '$ours' '$tmp/b.qcow2' && qemu-img rebase -u -f qcow2 -b '$q2' \
        -F qcow2 '$tmp/b.qcow2'"
ok "ours: backing change refused as qemu-img" same_refusal \
    "$tmp/b.qcow2" "backing_file=$ours,backing_fmt=qcow2"
ok "ours: same backing accepted" amended "$tmp/b.qcow2" \
    "backing_file=$q2,backing_fmt=qcow2"

# ---- zero clusters on downgrade ------------------------------------------
z=$tmp/z.qcow2
ok "v3 image with zero clusters of each kind" sh -c "
    qemu-img create -q -f qcow2 '$z' 8M &&
    qemu-io -f qcow2 -c 'write -q -P 1 0 256k' -c 'write -q -z 0 64k' \
        -c 'write -q -z -u 128k 64k' -c 'write -q -z 1M 64k' '$z' &&
    qemu-img snapshot -c s '$z' &&
    qemu-io -f qcow2 -c 'write -q -z 192k 64k' '$z'"
ok "no backing: compat=0.10" amended "$z" compat=0.10 compat=0.10
ok "no zero cluster left in the top layer (map)" sh -c "
    ! qemu-img map --output=json '$z' |
        grep -q '\"present\": true, \"zero\": true, \"data\": false'"
zb=$tmp/zb.qcow2
ok "v3 overlay with zero clusters over a backing file" sh -c "
    qemu-img create -q -f qcow2 -b '$q2' -F qcow2 '$zb' &&
    qemu-io -f qcow2 -c 'write -q -z 0 64k' -c 'write -q -z -u 3M 64k' \
        -c 'write -q -z 64k 64k' '$zb'"
ok "with backing: compat=0.10 keeps the zeroes" amended "$zb" compat=0.10 \
    compat=0.10
ok "the zeroes hide the backing data" \
    qemu-io -f qcow2 -c 'read -q -P 0 0 128k' -c 'read -q -P 0 3M 64k' "$zb"

# ---- refusals ------------------------------------------------------------
base=$tmp/base.qcow2
qemu-img create -q -f qcow2 "$base" 8M
for o in cluster_size=4k preallocation=metadata extended_l2=on \
         encrypt.format=luks compression_type=zstd compat=0.9 \
         refcount_bits=3 refcount_bits=128 data_file=x data_file_raw=on \
         encrypt.iter-time=10 compat=0.10,refcount_bits=8 \
         compat=0.10,lazy_refcounts=on size=1000; do
    ok "refused: $o" same_refusal "$base" "$o"
done
ok "v2: lazy_refcounts=on refused" same_refusal "$tmp/zb.qcow2" \
    lazy_refcounts=on
ok "v2: refcount_bits=8 refused" same_refusal "$tmp/zb.qcow2" refcount_bits=8
ext=$tmp/ext.qcow2
qemu-img create -q -f qcow2 -o extended_l2=on "$ext" 8M
ok "extended L2: downgrade refused" same_refusal "$ext" compat=0.10
zs=$tmp/zs.qcow2
qemu-img create -q -f qcow2 -o compression_type=zstd "$zs" 8M
qemu-io -f qcow2 -c 'write -q -c 0 64k' "$zs"
ok "zstd with compressed clusters: downgrade refused" \
    same_refusal "$zs" compat=0.10
df=$tmp/df.qcow2
qemu-img create -q -f qcow2 -o data_file="$tmp/df.raw" "$df" 8M
ok "data file: downgrade refused" same_refusal "$df" compat=0.10
sn=$tmp/sn.qcow2
qemu-img create -q -f qcow2 "$sn" 8M
qemu-img snapshot -c s "$sn"
qemu-img resize -q "$sn" 16M
ok "snapshot of another size: downgrade refused" same_refusal "$sn" \
    compat=0.10

finish
