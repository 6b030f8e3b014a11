#!/bin/bash
# Interop: spindle-img bench and info against qemu-img 7.2.  For each
# bench option, on a small raw file, the first line ("Sending N read
# requests, ...") equals qemu-img bench's; a --pattern write reads back
# under qemu-io read -P; info's human output equals qemu-img info's on
# settled raw files.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tools-lib.sh"
need_peer qemu-img qemu-io

raw=$tmp/bench.raw
qemu-img create -q -f raw "$raw" 1M

# same_header ARGS...: spindle-img bench and qemu-img bench, both run
# with ARGS, start with the same line.
same_header() {
    $SIMG bench "$@" >"$tmp/ours" 2>&1 &&
        qemu-img bench "$@" >"$tmp/theirs" 2>/dev/null &&
        diff <(head -1 "$tmp/theirs") <(head -1 "$tmp/ours")
}

# skip DESCRIPTION REASON: one test reported as skipped.
skip() {
    n=$((n + 1))
    echo "ok $n - $1 # SKIP $2"
}

ok "bench -f raw" same_header -f raw -c 64 "$raw"
ok "bench -t none" same_header -f raw -t none -c 64 "$raw"
ok "bench -i threads" same_header -f raw -i threads -c 64 "$raw"
if qemu-img bench -f raw -i io_uring -c 1 "$raw" >/dev/null 2>&1; then
    ok "bench -i io_uring" same_header -f raw -i io_uring -c 64 "$raw"
else
    skip "bench -i io_uring" "qemu-img cannot use io_uring here"
fi
ok "bench -s" same_header -f raw -s 512 -c 64 "$raw"
ok "bench -S" same_header -f raw -S 8192 -c 64 "$raw"
ok "bench -d" same_header -f raw -d 4 -c 64 "$raw"
ok "bench -w --pattern" same_header -f raw -w --pattern 0x5a -c 64 "$raw"
ok "bench, all of them" same_header -f raw -w -t none -i threads -s 4k \
    -S 8k -d 2 --pattern=0x5a -c 64 "$raw"
ok "bench without -f" same_header -c 64 "$raw"
ok "bench on null-co" same_header -f raw -c 100 -d 4 -S 8192 null-co://

qemu-img create -q -f raw "$raw" 1M
ok "bench -w --pattern 0x5a over the whole file" \
    $SIMG bench -q -f raw -w --pattern 0x5a -c 256 "$raw"
ok "qemu-io read -P 0x5a verifies it" \
    qemu-io -r -f raw -c "read -q -P 0x5a 0 1M" "$raw"

# same_info ARGS...: the same human info output as qemu-img info.
same_info() {
    diff <(qemu-img info "$@" 2>/dev/null) <($SIMG info "$@")
}
a=$tmp/a.raw b=$tmp/b.raw
qemu-img create -q -f raw "$a" 1000000
qemu-io -f raw -c "write -q 0 300k" -c flush "$a" >/dev/null
qemu-img create -q -f raw -o preallocation=full "$b" 3M
ok "info: a sparse raw file with data" same_info -f raw "$a"
ok "info: probed" same_info "$a"
ok "info: a preallocated raw file" same_info -f raw "$b"
ok "info: the bench file" same_info -f raw "$raw"
finish
