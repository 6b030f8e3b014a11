#!/bin/bash
# Bad input to spindle-img and spindle-io: one-line error, non-zero exit;
# backing chains that loop are refused.  Runs without any peer.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tools-lib.sh"
[ -x "$SIMG" ] && [ -x "$SIO" ] ||
    { echo "1..0 # SKIP the tools were not built"; exit 0; }

# fails_one_line COMMAND...: non-zero exit and exactly one stderr line.
fails_one_line() {
    "$@" >/dev/null 2>"$tmp/err" && return 1
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || { cat "$tmp/err"; return 1; }
}

ok "unknown subcommand" fails_one_line $SIMG frobnicate
ok "bad size" fails_one_line $SIMG create -f raw "$tmp/x.raw" 12Q
ok "missing file (info)" fails_one_line $SIMG info "$tmp/nope.raw"
ok "missing file (map)" fails_one_line $SIMG map "$tmp/nope.raw"
ok "bad option" fails_one_line $SIMG info --bogus null-co://
ok "bad --output" fails_one_line $SIMG info --output=xml null-co://
ok "bad queue depth" fails_one_line $SIMG bench -d 0 null-co://
ok "unknown format" fails_one_line $SIMG info -f nosuch null-co://
ok "compare: missing file exits 2" status_is 2 $SIMG compare null-co:// "$tmp/nope"
ok "spindle-io: missing file" fails_one_line $SIO -c "read 0 512" "$tmp/nope.raw"
ok "spindle-io: unknown command" fails_one_line $SIO -c "frob" null-co://
ok "spindle-io: bad size exits 1" status_is 1 $SIO -c "read 0 12x" null-co://
ok "spindle-io: one parse error line" sh -c \
    "$SIO -c 'read 0 12x' null-co:// | grep -c . | grep -qx 1"
ok "spindle-io: no file open" status_is 1 $SIO -c "read 0 512"
# Backing chains that loop (a -> b -> a, and c -> c), made by rebase -u:
# opening the chain is refused with one line naming the loop; info
# without --backing-chain (which, as qemu-img, does not open the backing
# file) still works, and rebase -u can break the loop.
# refuses_loop COMMAND...: fails with one line that names the loop.
refuses_loop() {
    fails_one_line "$@" && grep -q "backing chain of .* loops back" "$tmp/err"
}
loops() (
    simg=$(realpath "$SIMG") && cd "$tmp" &&
    $simg create -q -f qcow2 a.qcow2 1M &&
    $simg create -q -f qcow2 -b a.qcow2 -F qcow2 b.qcow2 &&
    $simg rebase -u -b b.qcow2 -F qcow2 a.qcow2 &&
    $simg create -q -f qcow2 c.qcow2 1M &&
    $simg rebase -u -b c.qcow2 -F qcow2 c.qcow2
)
ok "looping backing chains made" loops
for img in a b c; do
    ok "loop: info --backing-chain $img refused" \
        refuses_loop $SIMG info --backing-chain "$tmp/$img.qcow2"
    ok "loop: convert $img refused, nothing written" sh -c \
        "! $SIMG convert -O raw '$tmp/$img.qcow2' '$tmp/out.raw' 2>/dev/null &&
         test ! -e '$tmp/out.raw'"
done
ok "loop: convert's message names the loop" \
    refuses_loop $SIMG convert -O qcow2 "$tmp/a.qcow2" "$tmp/out.qcow2"
ok "loop: info without the chain names the backing file" sh -c \
    "$SIMG info '$tmp/c.qcow2' | grep -q '^backing file: c.qcow2'"
ok "loop: rebase -u breaks it" sh -c \
    "$SIMG rebase -u -b '' '$tmp/c.qcow2' &&
     $SIMG convert -O raw '$tmp/c.qcow2' '$tmp/out.raw'"

ok "--help works everywhere" sh -c "$SIMG --help && $SIO --help && \
    for c in create info map compare bench check commit rebase resize snapshot measure amend dd; do $SIMG \$c --help || exit 1; done"
ok "spindle-io: good commands exit 0" \
    $SIO -c "write -P 7 0 4k" -c "aio_write 8k 4k" -c aio_flush -c "read 0 1k" null-co://
finish
