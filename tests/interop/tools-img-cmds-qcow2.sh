# Sourced by tools-img-cmds.sh when the build has the qcow2 driver:
# check, snapshot, rebase, commit, resize and measure on qcow2 images
# that qemu-img made, results compared with qemu-img's.
# SPDX-License-Identifier: LGPL-2.1-or-later
q=$tmp/q
mkdir -p "$q"
qio() { qemu-io -f qcow2 "$@" >/dev/null; }

# copy_chain BASE MID TOP: copies of base, mid and top named so, linked
# base <- mid <- top.
copy_chain() {
    cp "$q/base.qcow2" "$q/$1.qcow2"
    cp "$q/mid.qcow2" "$q/$2.qcow2"
    cp "$q/top.qcow2" "$q/$3.qcow2"
    qemu-img rebase -u -F qcow2 -b "$1.qcow2" "$q/$2.qcow2"
    qemu-img rebase -u -F qcow2 -b "$2.qcow2" "$q/$3.qcow2"
}

ok "qcow2: make base, mid and top with qemu-img" sh -c "
    qemu-img create -q -f qcow2 '$q/base.qcow2' 4M &&
    qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 '$q/mid.qcow2' &&
    qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 '$q/top.qcow2'"
ok "qcow2: data in every layer" sh -c "
    qemu-io -f qcow2 -c 'write -q -P 1 0 1M' '$q/base.qcow2' &&
    qemu-io -f qcow2 -c 'write -q -P 2 512k 1M' '$q/mid.qcow2' &&
    qemu-io -f qcow2 -c 'write -q -P 3 1M 64k' -c 'write -q -P 4 3M 4k' \
        '$q/top.qcow2'"

# skip_unless DESCRIPTION COMMAND...: true if COMMAND succeeds, else one
# skipped test saying the driver lacks DESCRIPTION.
skip_unless() {
    local what=$1; shift
    "$@" >/dev/null 2>&1 && return 0
    n=$((n + 1)); echo "ok $n - qcow2 $what # SKIP the driver has no $what"
    return 1
}

# check: human and JSON output, exit status as qemu-img's
if skip_unless check $SIMG check "$q/base.qcow2"; then
ok "qcow2 check: clean image, same output" same_output check "$q/top.qcow2"
ok "qcow2 check --output=json: same JSON" sh -c "
    cd '$q' && $SIMG check --output=json top.qcow2 >'$tmp/ours.json';
    qemu-img check --output=json top.qcow2 >'$tmp/qemu.json';
    diff '$tmp/ours.json' '$tmp/qemu.json'"
fi

# snapshot: list compared with qemu-img's (dates come from the image)
cp "$q/base.qcow2" "$q/sn.qcow2"
cp "$q/base.qcow2" "$q/sn-probe.qcow2"
if skip_unless snapshots $SIMG snapshot -c probe "$q/sn-probe.qcow2"; then
ok "qcow2 snapshot -c" $SIMG snapshot -c first "$q/sn.qcow2"
ok "qcow2: qemu-img also creates one" qemu-img snapshot -c second "$q/sn.qcow2"
ok "qcow2 snapshot -l matches qemu-img's" same_output snapshot -l "$q/sn.qcow2"
ok "qcow2: overwrite after the snapshot" \
    qio -c "write -q -P 9 0 64k" "$q/sn.qcow2"
ok "qcow2 snapshot -a first" $SIMG snapshot -a first "$q/sn.qcow2"
ok "qcow2: data back as at the snapshot" \
    qemu-img compare -q "$q/sn.qcow2" "$q/base.qcow2"
ok "qcow2 snapshot -d second" $SIMG snapshot -d second "$q/sn.qcow2"
ok "qcow2 snapshot -l after delete" same_output snapshot -l "$q/sn.qcow2"
ok "qcow2 snapshot -d missing" same_error snapshot -d nosuch "$q/sn.qcow2"
ok "qcow2 snapshot -a missing" same_error snapshot -a nosuch "$q/sn.qcow2"
ok "qcow2: still consistent for qemu-img" qemu-img check -q "$q/sn.qcow2"
fi

# rebase: safe mode keeps the content, unsafe only the header
for m in ours qemu; do
    copy_chain "base-$m" "mid-$m" "top-$m"
done
qemu-img convert -O raw "$q/top.qcow2" "$q/top-content.raw"
ok "qcow2 rebase (safe) onto base" \
    $SIMG rebase -b base-ours.qcow2 -F qcow2 "$q/top-ours.qcow2"
ok "qemu-img rebase (safe) onto base" \
    qemu-img rebase -b base-qemu.qcow2 -F qcow2 "$q/top-qemu.qcow2"
ok "qcow2 rebase: content unchanged" \
    qemu-img compare -q "$q/top-ours.qcow2" "$q/top-content.raw"
ok "qcow2 rebase: same as qemu-img's result" \
    qemu-img compare -q "$q/top-ours.qcow2" "$q/top-qemu.qcow2"
ok "qcow2 rebase: header names the new backing file" sh -c \
    "qemu-img info '$q/top-ours.qcow2' | grep -q '^backing file: base-ours.qcow2'"
ok "qcow2 rebase: image consistent" qemu-img check -q "$q/top-ours.qcow2"
ok "qcow2 rebase -b '': standalone image" \
    $SIMG rebase -b "" "$q/top-ours.qcow2"
ok "qcow2 rebase -b '': content unchanged" \
    qemu-img compare -q "$q/top-ours.qcow2" "$q/top-content.raw"
ok "qcow2 rebase -u: header only" \
    $SIMG rebase -u -b mid.qcow2 -F qcow2 "$q/top-ours.qcow2"
ok "qcow2 rebase -u: qemu-img sees the backing file" sh -c \
    "qemu-img info '$q/top-ours.qcow2' | grep -q '^backing file: mid.qcow2'"

# commit: top into mid, then compare with qemu-img's commit
for m in ours qemu; do
    copy_chain "cbase-$m" "cmid-$m" "ctop-$m"
done
ok "qcow2 commit" sh -c "$SIMG commit '$q/ctop-ours.qcow2' |
    grep -qx 'Image committed.'"
ok "qemu-img commit" qemu-img commit -q "$q/ctop-qemu.qcow2"
ok "qcow2 commit: mid holds what top showed" \
    qemu-img compare -q "$q/cmid-ours.qcow2" "$q/top-content.raw"
ok "qcow2 commit: same as qemu-img's" \
    qemu-img compare -q "$q/cmid-ours.qcow2" "$q/cmid-qemu.qcow2"
ok "qcow2 commit: top emptied, content unchanged" \
    qemu-img compare -q "$q/ctop-ours.qcow2" "$q/top-content.raw"
ok "qcow2 commit: images consistent" sh -c \
    "qemu-img check -q '$q/cmid-ours.qcow2' && qemu-img check -q '$q/ctop-ours.qcow2'"

# resize, then qemu-img check
cp "$q/base.qcow2" "$q/rs.qcow2"
ok "qcow2 resize +60M" $SIMG resize -q "$q/rs.qcow2" +60M
ok "qcow2 resize: qemu-img sees 64 MiB" sh -c \
    "qemu-img info --output=json '$q/rs.qcow2' | grep -q '\"virtual-size\": 67108864'"
ok "qcow2 resize: qemu-img check passes" qemu-img check -q "$q/rs.qcow2"
ok "qcow2 resize: data kept" qemu-img compare -q "$q/rs.qcow2" "$q/base.qcow2"

# measure a qcow2 source
ok "measure: qcow2 image to qcow2" measure_case -O qcow2 "$q/base.qcow2"
ok "measure: qcow2 image to raw" measure_case "$q/top.qcow2"
