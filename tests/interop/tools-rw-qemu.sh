#!/bin/bash
# Interop: raw images written by spindle-io read back identically by
# qemu-io and qemu-img compare, and the other way round; spindle-img
# compare's verdicts and exit codes match qemu-img's.  Needs the file
# protocol driver.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tools-lib.sh"
need_peer qemu-io qemu-img

a=$tmp/a.raw b=$tmp/b.raw
# offset:length:pattern, aligned and not
cases="0:4096:0x11 4096:512:0x22 12345:777:0x33 65535:70000:0x44 1048064:512:0x55"

write_cmds() {
    local tool=$1 c args=()
    for c in $cases; do
        IFS=: read -r off len pat <<<"$c"
        args+=(-c "write -q -P $pat $off $len")
    done
    "$tool" -f raw "${args[@]}" "$2"
}
read_cmds() {
    local tool=$1 c args=()
    for c in $cases; do
        IFS=: read -r off len pat <<<"$c"
        args+=(-c "read -q -P $pat $off $len")
    done
    "$tool" -f raw "${args[@]}" "$2" >"$tmp/read.out" &&
        ! grep -q "verification failed" "$tmp/read.out"
}

ok "spindle-img create a raw image" $SIMG create -f raw "$a" 1M
ok "qemu-img create a raw image" qemu-img create -f raw "$b" 1M
ok "spindle-io writes patterns" write_cmds $SIO "$a"
ok "qemu-io verifies spindle-io's patterns" read_cmds qemu-io "$a"
ok "qemu-io writes the same patterns" write_cmds qemu-io "$b"
ok "spindle-io verifies qemu-io's patterns" read_cmds $SIO "$b"
ok "qemu-img compare: identical" qemu-img compare -f raw -F raw "$a" "$b"
ok "spindle-img compare: identical" keep $SIMG compare -f raw "$a" "$b"
ok "spindle-img says so" grep -qx "Images are identical." "$tmp/kept"
ok "spindle-io read -P fails on a wrong pattern" \
    status_is 1 keep $SIO -f raw -c "read -P 0x99 0 4096" "$a"
ok "spindle-io names the failed request" \
    grep -q "Pattern verification failed at offset 0, 4096 bytes" "$tmp/kept"
ok "qemu-io changes one byte" qemu-io -f raw -c "write -q -P 0x66 5000 1" "$b"
ok "spindle-img compare exits 1 on a difference" \
    status_is 1 keep $SIMG compare -f raw "$a" "$b"
grep -o "Content mismatch at offset [0-9]*!" "$tmp/kept" >"$tmp/ours" 2>/dev/null
ok "qemu-img compare exits 1 too" status_is 1 keep qemu-img compare -f raw "$a" "$b"
ok "both report the same mismatch offset" diff "$tmp/ours" "$tmp/kept"
ok "spindle-img compare exits 2 on a missing file" \
    status_is 2 $SIMG compare "$a" "$tmp/missing.raw"
finish
