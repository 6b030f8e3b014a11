#!/bin/bash
# Interop: Spindle's image locks (the file driver's OFD locks) against
# QEMU's, with qemu-io and qemu-img from qemu-utils as the peers.  While
# qemu-io holds an image open for writing, our read-write and plain
# read-only opens must fail with a lock error and a force-share open must
# work; while we hold it for writing, qemu-io's open for writing, a
# qemu-img convert from it and a qemu-img create over it must fail with a
# lock error, and qemu-img convert -U must work.
#
#   file-lock-qemu.sh BUILD_DIR     (the folder holding block-open-peer)
#
# Prints TAP.  Without qemu-io/qemu-img (or block-open-peer) it skips.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

bld=${1:-.}
peer=$bld/block-open-peer

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

# OFD locks need a real file system; /var/tmp unless told otherwise.
tmp=$(mktemp -d "${SPINDLE_TEST_DIRECT_DIR:-/var/tmp}/spindle-lock-XXXXXX")
pids=()
cleanup() {
    exec 3>&- 4>&- 2>/dev/null
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

img=$tmp/disk.img
qemu-img create -q -f raw "$img" 1M

n=0
echo "1..9"

ok() {
    n=$((n + 1))
    echo "ok $n $1"
}

not_ok() {
    n=$((n + 1))
    echo "not ok $n $1"
    for f in "$tmp"/*.err; do
        [ -s "$f" ] && sed "s|^|# $(basename "$f"): |" "$f"
    done
}

# expect_lock_error NAME FILE: FILE (stderr of a failed open) names a lock.
expect_lock_error() {
    if grep -q 'Failed to get .*lock' "$2"; then
        ok "$1"
    else
        not_ok "$1 (no lock error in the message)"
    fi
}

# Wait (up to 10 s) until file $1 contains $2; false on timeout.
wait_for_text() {
    for _ in $(seq 100); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# --- qemu-io holds the image open for writing -------------------------------
mkfifo "$tmp/qemu-io.in"
qemu-io -f raw "$img" < "$tmp/qemu-io.in" > "$tmp/qemu-io.out" \
    2> "$tmp/qemu-io.err" &
pids+=("$!")
exec 3> "$tmp/qemu-io.in"
echo "write -P 0x11 0 4k" >&3
if ! wait_for_text "$tmp/qemu-io.out" "wrote 4096/4096"; then
    echo "Bail out! qemu-io did not open $img for writing"
    exit 1
fi

if "$peer" "$img" < /dev/null > /dev/null 2> "$tmp/ours.err"; then
    not_ok "our read-write open fails while qemu-io writes"
else
    expect_lock_error "our read-write open fails while qemu-io writes" \
        "$tmp/ours.err"
fi

if "$peer" -r "$img" < /dev/null > /dev/null 2> "$tmp/ours.err"; then
    not_ok "our read-only open fails while qemu-io writes"
else
    expect_lock_error "our read-only open fails while qemu-io writes" \
        "$tmp/ours.err"
fi

if "$peer" -r -U "$img" < /dev/null > /dev/null 2> "$tmp/ours.err"; then
    ok "our force-share read-only open works while qemu-io writes"
else
    not_ok "our force-share read-only open works while qemu-io writes"
fi
rm -f "$tmp/ours.err"

echo "quit" >&3
exec 3>&-
wait "${pids[0]}" 2>/dev/null

# --- we hold the image open for writing -------------------------------------
mkfifo "$tmp/ours.in"
"$peer" -w "$img" < "$tmp/ours.in" > "$tmp/ours.out" 2> "$tmp/ours.err" &
pids+=("$!")
exec 4> "$tmp/ours.in"
if ! wait_for_text "$tmp/ours.out" "opened"; then
    echo "Bail out! block-open-peer did not open $img for writing"
    exit 1
fi

if qemu-io -f raw -c "read 0 512" "$img" > /dev/null 2> "$tmp/qemu.err"
then
    not_ok "qemu-io read-write open fails while we write"
else
    expect_lock_error "qemu-io read-write open fails while we write" \
        "$tmp/qemu.err"
fi

# qemu-img convert reads its source without sharing writes.
if qemu-img convert -f raw -O raw "$img" "$tmp/copy.img" \
    2> "$tmp/qemu.err"; then
    not_ok "qemu-img convert from the image fails while we write"
else
    expect_lock_error "qemu-img convert from the image fails while we write" \
        "$tmp/qemu.err"
fi

if qemu-img convert -U -f raw -O raw "$img" "$tmp/copy.img" \
    2> "$tmp/qemu.err"; then
    ok "qemu-img convert -U (force-share) works while we write"
else
    not_ok "qemu-img convert -U (force-share) works while we write"
fi

if qemu-img create -q -f raw "$img" 2M 2> "$tmp/qemu.err"; then
    not_ok "qemu-img create refuses to truncate the image we write"
else
    expect_lock_error "qemu-img create refuses to truncate the image we write" \
        "$tmp/qemu.err"
fi
rm -f "$tmp/qemu.err"

exec 4>&-
if wait "${pids[1]}"; then
    ok "our writer closes cleanly"
else
    not_ok "our writer closes cleanly"
fi

# --- locks are gone once we closed ------------------------------------------
if qemu-io -f raw -c "read -P 0x5a 0 512" "$img" > "$tmp/qemu.out" \
    2> "$tmp/qemu.err" && grep -q "read 512/512" "$tmp/qemu.out"; then
    ok "qemu-io opens for writing (and reads our data) after we closed"
else
    not_ok "qemu-io opens for writing (and reads our data) after we closed"
fi
