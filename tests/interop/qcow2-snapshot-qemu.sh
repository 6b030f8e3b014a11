#!/bin/bash
# Interop: qcow2 internal snapshots between Spindle and QEMU, with
# qemu-img and qemu-io from qemu-utils as the peers.
#
#   ours -> QEMU: snapshots we take (with data changed in between, with VM
#                 state, in v2 and v3 images, small and large clusters)
#                 are listed by `qemu-img info` with the same id, tag, VM
#                 state size, date and VM clock; `qemu-img snapshot -a`
#                 restores the right data (qemu-io read -P); `qemu-img
#                 check` stays clean after our create, goto and delete.
#   QEMU -> ours: snapshots taken by `qemu-img snapshot -c` are listed the
#                 same by us; we revert to them, load them read-only and
#                 delete them with the right data and a clean check.
#
#   qcow2-snapshot-qemu.sh INTEROP_BUILD_DIR TOOLS_BUILD_DIR
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tools-lib.sh"
need_peer qemu-img qemu-io python3
peer=$1/image-peer
snap=$1/snapshot-peer
[ -x "$peer" ] && [ -x "$snap" ] ||
    { echo "1..0 # SKIP image-peer/snapshot-peer were not built"; exit 0; }

# qemu-img check with no errors and no leaks.
clean() {
    qemu-img check -f qcow2 "$1"
}

# qemu_reads IMAGE "read -P ..."...: every pattern verifies in qemu-io.
qemu_reads() {
    local img=$1 c args=()
    shift
    for c in "$@"; do
        args+=(-c "$c")
    done
    qemu-io -r -f qcow2 "${args[@]}" "$img" >"$tmp/qio" 2>&1
    local r=$?
    cat "$tmp/qio"
    [ $r -eq 0 ] && ! grep -qiE "fail|error|mismatch" "$tmp/qio"
}

# qemu_list IMAGE: QEMU's snapshot list as snapshot-peer prints it.
qemu_list() {
    qemu-img info -f qcow2 --output=json "$1" | python3 -c '
import json, sys
for s in json.load(sys.stdin).get("snapshots", []):
    clock = s["vm-clock-sec"] * 1000000000 + s["vm-clock-nsec"]
    print(s["id"], s["name"], s["vm-state-size"], s["date-sec"],
          s["date-nsec"], clock)'
}

# same_list IMAGE: we and QEMU list the same snapshots.
same_list() {
    "$snap" -r "$1" list >"$tmp/ours.list" &&
        qemu_list "$1" >"$tmp/qemu.list" &&
        diff -u "$tmp/qemu.list" "$tmp/ours.list" &&
        qemu-img snapshot -l "$1" >"$tmp/text.list" &&
        while read -r id tag _; do
            grep -qE "^$id +$tag " "$tmp/text.list" || exit 1
        done <"$tmp/ours.list"
}

# applied IMAGE SNAPSHOT "read -P ..."...: qemu-img snapshot -a on a
# copy, then qemu-io verifies.
applied() {
    local img=$1 sn=$2
    shift 2
    cp "$img" "$tmp/applied.qcow2" &&
        qemu-img snapshot -a "$sn" "$tmp/applied.qcow2" &&
        clean "$tmp/applied.qcow2" && qemu_reads "$tmp/applied.qcow2" "$@"
}

# ---- ours -> QEMU ------------------------------------------------------

for variant in "cluster_size=64k" "cluster_size=64k,compat=0.10" \
               "cluster_size=4k,refcount_bits=64" \
               "cluster_size=512,lazy_refcounts=on"; do
    img=$tmp/ours.qcow2
    rm -f "$img"
    ok "ours $variant: create, write, snapshot s1" sh -c '
        "$0" create qcow2 "$1" 16M "$2" &&
        "$0" "$1" "write 0 1M 17" "write 12M 64k 18" &&
        "$3" "$1" "create s1"' "$peer" "$img" "$variant" "$snap"
    ok "ours $variant: overwrite, VM state, snapshot s2" sh -c '
        "$0" "$1" "write 0 256k 34" "write 12M 1k 35" "write 14M 4k 36" &&
        "$2" "$1" "vmsave 100 100000 90" "create s2 100100 4000000123"' \
        "$peer" "$img" "$snap"
    ok "ours $variant: overwrite after s2" \
        "$peer" "$img" "write 0 64k 51" "write 12M 64k 52"
    ok "ours $variant: qemu-img check clean" clean "$img"
    ok "ours $variant: QEMU lists our snapshots alike" same_list "$img"
    ok "ours $variant: qemu-img snapshot -a s1 restores s1" applied "$img" \
        s1 "read -P 17 0 1M" "read -P 18 12M 64k" "read -P 0 14M 4k"
    ok "ours $variant: qemu-img snapshot -a s2 restores s2" applied "$img" \
        s2 "read -P 34 0 256k" "read -P 17 256k 768k" "read -P 35 12M 1k" \
        "read -P 18 12289k 63k" "read -P 36 14M 4k"
    ok "ours $variant: our goto s1, then check and read" sh -c '
        "$0" "$1" "goto s1" "read 0 1M 17" && qemu-img check -f qcow2 "$1" &&
        "$0" "$1" "goto 2" "read 0 256k 34" "vmload 100 100000 90"' \
        "$snap" "$img"
    ok "ours $variant: our delete s1, clean check" sh -c '
        "$0" "$1" "delete s1" && qemu-img check -f qcow2 "$1"' "$snap" "$img"
    ok "ours $variant: QEMU lists what is left alike" same_list "$img"
    ok "ours $variant: qemu-img snapshot -a s2 after the delete" applied \
        "$img" s2 "read -P 34 0 256k" "read -P 17 256k 768k"
    ok "ours $variant: delete the last one, clean check" sh -c '
        "$0" "$1" "delete 2" "list" && qemu-img check -f qcow2 "$1" &&
        [ -z "$(qemu-img snapshot -l "$1")" ]' "$snap" "$img"
done

# ---- QEMU -> ours ------------------------------------------------------

for variant in "cluster_size=64k" "cluster_size=64k,compat=0.10" \
               "cluster_size=4k"; do
    img=$tmp/qemu.qcow2
    rm -f "$img"
    ok "qemu $variant: two snapshots with writes between" sh -c '
        qemu-img create -q -f qcow2 -o "$1" "$0" 16M &&
        qemu-io -f qcow2 -c "write -P 65 0 1M" "$0" >/dev/null &&
        qemu-img snapshot -c q1 "$0" &&
        qemu-io -f qcow2 -c "write -P 66 0 256k" "$0" >/dev/null &&
        qemu-img snapshot -c q2 "$0" &&
        qemu-io -f qcow2 -c "write -P 67 0 64k" "$0" >/dev/null' \
        "$img" "$variant"
    ok "qemu $variant: we list QEMU's snapshots alike" same_list "$img"
    ok "qemu $variant: our load_tmp q2 reads q2" "$snap" -r "$img" \
        "load q2" "read 0 256k 66" "read 256k 768k 65"
    ok "qemu $variant: our goto q1, clean check" sh -c '
        "$0" "$1" "goto q1" "read 0 1M 65" && qemu-img check -f qcow2 "$1"' \
        "$snap" "$img"
    ok "qemu $variant: qemu-io reads the reverted image" qemu_reads "$img" \
        "read -P 65 0 1M"
    ok "qemu $variant: our snapshot next to QEMU's gets id 3" sh -c '
        "$0" "$1" "create ours" | grep -qx 3 && qemu-img check -f qcow2 "$1"' \
        "$snap" "$img"
    ok "qemu $variant: QEMU lists ours alike" same_list "$img"
    ok "qemu $variant: our delete q1, clean check" sh -c '
        "$0" "$1" "delete q1" && qemu-img check -f qcow2 "$1"' "$snap" "$img"
    ok "qemu $variant: qemu-img snapshot -a q2 after our delete" applied \
        "$img" q2 "read -P 66 0 256k" "read -P 65 256k 768k"
    ok "qemu $variant: qemu-img deletes ours, we still open it" sh -c '
        qemu-img snapshot -d ours "$0" && "$1" -r "$0" "list" | grep -q q2' \
        "$img" "$snap"
done

finish
