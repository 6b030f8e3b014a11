#!/bin/bash
# spindle-img bench on null-co://: qemu-img bench's header and closing
# lines, with reads, writes and flushes.  Runs without any peer.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tools-lib.sh"
[ -x "$SIMG" ] || { echo "1..0 # SKIP spindle-img was not built"; exit 0; }

ok "bench reads" keep $SIMG bench -c 2000 -d 16 null-co://
ok "read header" grep -qx "Sending 2000 read requests, 4096 bytes each, 16 in parallel (starting at offset 0, step size 4096)" "$tmp/kept"
ok "run completed" grep -Eqx "Run completed in [0-9]+\.[0-9]{3} seconds\." "$tmp/kept"
ok "bench writes with flushes" keep $SIMG bench -w -c 1000 -d 8 -s 512 -S 1024 \
    -o 512 --flush-interval=100 null-aio://
ok "write header" grep -qx "Sending 1000 write requests, 512 bytes each, 8 in parallel (starting at offset 512, step size 1024)" "$tmp/kept"
ok "flush line" grep -qx "Sending flush every 100 requests" "$tmp/kept"
ok "bench --no-drain" $SIMG bench -w -c 500 --flush-interval=7 --no-drain \
    --image-opts driver=null-co,read-zeroes=off
ok "bench -q prints nothing" sh -c "[ -z \"\$($SIMG bench -q -c 10 null-co://)\" ]"
# The same lines as qemu-img bench's: tools-bench-qemu.sh.
finish
