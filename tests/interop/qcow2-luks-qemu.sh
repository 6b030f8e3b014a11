#!/bin/bash
# Interop: encrypted qcow2 images between Spindle and QEMU, with qemu-img
# and qemu-io from qemu-utils as the peers.  Passwords travel as secret
# objects on both sides (`--object secret,id=sec0,data=...`).
#
#   ours -> QEMU: LUKS images created and written by our library
#                 (image-peer) with 4k and 64k clusters, aes-256 and
#                 aes-128, partial-cluster writes (copy-on-write) and zero
#                 clusters must pass `qemu-img check` and read back in
#                 qemu-io with `read -P`; a wrong password must fail.
#   QEMU -> ours: LUKS images made by qemu-img and written by qemu-io
#                 must read identically through our library, stay clean
#                 after we write into them, and refuse a wrong password
#                 with QEMU's message; legacy AES images made by qemu-img
#                 must read through our library (read-only, with the
#                 secret or bdrv_set_key).
#   info:         spindle-img info, human and --output=json, prints what
#                 qemu-img info prints, byte for byte and without the
#                 secret, for those LUKS and AES images, for one made by
#                 spindle-img (aes-128-cbc, sha512) and for a plain
#                 overlay on it with --backing-chain: "encrypted: yes"
#                 and the "encrypt" section (the LUKS header's fields).
#
#   qcow2-luks-qemu.sh BUILD_DIR     (the folder holding image-peer)
#
# Prints TAP.  Without qemu-img/qemu-io (or image-peer) it skips.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

bld=${1:-.}
peer=$bld/image-peer
tools=${2:-$bld/../../tools}
simg=$tools/spindle-img/spindle-img
sio=$tools/spindle-io/spindle-io

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

tmp=$(mktemp -d "${TMPDIR:-/tmp}/spindle-q2luks-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log=$tmp/log
n=0
failed=0
planned=57

sec="secret,id=sec0,data=Pa55word"
badsec="secret,id=sec0,data=wrong"
luks_opts="encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10"
small_cbc="encrypt.cipher-alg=aes-128,encrypt.cipher-mode=cbc,encrypt.hash-alg=sha512"

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

# check_fails NAME TEXT COMMAND...: the command must fail, saying TEXT.
check_fails() {
    local name=$1 text=$2
    shift 2
    if ! "$@" >"$log" 2>&1 && grep -qF "$text" "$log"; then
        ok "$name"
    else
        not_ok "$name"
    fi
}

image_opts() {
    echo "driver=qcow2,file.filename=$1,encrypt.key-secret=sec0"
}

qemu_check() {
    qemu-img check --object "$sec" --image-opts "$(image_opts "$1")"
}

# qemu_io IMAGE "cmd"...: every command must succeed without a mismatch.
qemu_io() {
    local img=$1 args=()
    shift
    for c in "$@"; do
        args+=(-c "$c")
    done
    qemu-io --object "$sec" --image-opts "$(image_opts "$img")" \
        "${args[@]}" >"$log.io" 2>&1
    local rc=$?
    cat "$log.io"
    [ $rc -eq 0 ] && ! grep -qiE "fail|error|mismatch" "$log.io"
}

# qemu_create SECRET OPTIONS IMAGE SIZE: qemu-img create, tried again
# when QEMU's PBKDF2 calibration fails under load ("Unable to get
# accurate CPU usage").
qemu_create() {
    local try
    for try in 1 2 3; do
        qemu-img create -q -f qcow2 --object "$1" -o "$2" "$3" "$4" \
            >"$tmp/create.log" 2>&1 && return 0
        grep -q "accurate CPU usage" "$tmp/create.log" || break
    done
    cat "$tmp/create.log"
    return 1
}

# same_info ARGS...: spindle-img info prints exactly what qemu-img info
# prints (the same file, so even the disk size must agree).
same_info() {
    diff -u <(qemu-img info "$@" 2>&1) <("$simg" info "$@" 2>&1)
}

# check_info NAME IMAGE [ARGS...]: same_info, human and JSON.
check_info() {
    local name=$1
    shift
    check "$name: info matches qemu-img's" same_info "$@"
    check "$name: info JSON matches qemu-img's" same_info --output=json "$@"
}

ours() {
    local img=$1
    shift
    "$peer" --object "$sec" -o encrypt.key-secret=sec0 "$img" "$@"
}

echo "1..$planned"

# ---- ours -> QEMU ------------------------------------------------------

for variant in "cluster_size=64k" "cluster_size=4k" \
               "cluster_size=64k,encrypt.cipher-alg=aes-128"; do
    img=$tmp/ours.qcow2
    rm -f "$img"
    check "ours $variant: create" "$peer" --object "$sec" create qcow2 \
        "$img" 16M "$luks_opts,$variant"
    check "ours $variant: write" ours "$img" "write 0 64k 170" \
        "write 102400 3k 187" "write 5M 1M 204" "zero 8M 1M" \
        "write 12M 512 221"
    check "ours $variant: qemu-img check clean" qemu_check "$img"
    check "ours $variant: qemu-io reads back" qemu_io "$img" \
        "read -P 0xaa 0 64k" "read -P 0 99k 1k" "read -P 0xbb 100k 3k" \
        "read -P 0 103k 1k" "read -P 0xcc 5M 1M" "read -P 0 8M 1M" \
        "read -P 0xdd 12M 512" "read -P 0 14M 1M"
done
check_fails "ours: qemu-io refuses a wrong password" \
    "Invalid password, cannot unlock any keyslot" \
    qemu-io --object "$badsec" --image-opts "$(image_opts "$img")" \
    -c "read 0 512"

# ---- QEMU -> ours ------------------------------------------------------

# The last variant names an IV hash: qemu writes "cbc-plain64:sha256".
for variant in "cluster_size=64k" "cluster_size=4k" \
               "cluster_size=64k,encrypt.cipher-alg=aes-128" \
               "encrypt.cipher-mode=cbc,encrypt.ivgen-alg=plain64,encrypt.ivgen-hash-alg=sha256"; do
    img=$tmp/qemu.qcow2
    rm -f "$img"
    check "qemu $variant: create" qemu_create "$sec" "$luks_opts,$variant" \
        "$img" 16M
    check "qemu $variant: write" sh -c '
        out=$(qemu-io --object "$0" --image-opts "$3" \
            -c "write -P 0x11 0 64k" -c "write -P 0x22 70k 3k" \
            -c "write -P 0x33 9M 2M" -c "write -z 10M 64k" 2>&1) &&
        ! echo "$out" | grep -qiE "fail|error"' \
        "$sec" "$luks_opts,$variant" "$img" "$(image_opts "$img")"
    check "qemu $variant: ours reads back" ours "$img" "read 0 64k 17" \
        "read 69k 1k 0" "read 70k 3k 34" "read 73k 1k 0" "read 9M 1M 51" \
        "read 10M 64k 0" "read 10304k 960k 51" "read 12M 1M 0"
    check "qemu $variant: ours writes, qemu-img check clean" sh -c '
        "$0" --object "$1" -o encrypt.key-secret=sec0 "$2" \
            "write 71k 1k 68" "write 14M 4k 85" &&
        qemu-img check --object "$1" --image-opts "$3" &&
        qemu-io --object "$1" --image-opts "$3" -c "read -P 0x22 70k 1k" \
            -c "read -P 0x44 71k 1k" -c "read -P 0x55 14M 4k" |
            { ! grep -qiE "fail|error|mismatch"; }' \
        "$peer" "$sec" "$img" "$(image_opts "$img")"
    # The LUKS header clusters are referenced: no leaks, and a leak repair
    # must not free them (the image still opens with its password).
    check "qemu $variant: our check counts the LUKS header" sh -c '
        "$0" check -r leaks "$1" | grep -qx "leaks=0" &&
        "$0" --object "$2" -o encrypt.key-secret=sec0 -r "$1" \
            "read 0 64k 17"' "$peer" "$img" "$sec"
    check_info "qemu $variant" "$img"
done
check_fails "qemu: ours refuses a wrong password" \
    "Invalid password, cannot unlock any keyslot" \
    "$peer" --object "$badsec" -o encrypt.key-secret=sec0 "$img" \
    "read 0 512 17"

img=$tmp/aes.qcow2
check "qemu: legacy AES image, create" qemu_create "$sec" \
    encrypt.format=aes,encrypt.key-secret=sec0 "$img" 4M
check "qemu: legacy AES image, write" sh -c '
    out=$(qemu-io --object "$0" --image-opts "$2" -c "write -P 0x66 0 64k" \
        -c "write -P 0x77 100k 2k" 2>&1) &&
    ! echo "$out" | grep -qiE "fail|error"' \
    "$sec" "$img" "$(image_opts "$img")"
check "qemu: legacy AES reads through ours (secret)" ours "$img" \
    "read 0 64k 102" "read 100k 2k 119" "read 98k 2k 0"
check "qemu: legacy AES reads through ours (set_key)" "$peer" -r "$img" \
    "setkey Pa55word" "read 0 64k 102" "read 100k 2k 119"
check_fails "qemu: legacy AES is read-only for ours" "read-only" \
    ours "$img" "write 0 512 1"
check_info "qemu: legacy AES image" "$img"

# ---- the tools: --object secret,... as qemu-img and qemu-io take it ----

img=$tmp/tools.qcow2
check "tools: spindle-img create --object" "$simg" create -q -f qcow2 \
    --object "$sec" -o "$luks_opts,$small_cbc" "$img" 8M
check "tools: spindle-io --object writes" sh -c '
    "$0" --object "$1" --image-opts -c "write -P 0x3c 4k 8k" "$2" |
        grep -q "^wrote 8192/8192"' "$sio" "$sec" "$(image_opts "$img")"
check "tools: qemu-io reads it, qemu-img check clean" sh -c '
    qemu-img check --object "$0" --image-opts "$1" &&
    qemu-io --object "$0" --image-opts "$1" -c "read -P 0x3c 4k 8k" \
        -c "read -P 0 0 4k" | { ! grep -qiE "fail|error"; }' \
    "$sec" "$(image_opts "$img")"
check_info "tools: our LUKS image" "$img"
check "tools: a plain overlay on it" qemu-img create -q -f qcow2 \
    -b "$img" -F qcow2 "$tmp/top.qcow2"
check_info "tools: --backing-chain" --backing-chain "$tmp/top.qcow2"

if [ "$n" -ne "$planned" ]; then
    echo "# planned $planned tests, ran $n"
    exit 1
fi
exit 0
