#!/bin/bash
# Interop: every spindle-io command run side by side with qemu-io 7.2 on
# the same raw image, from -c and at the prompt: the same stdout lines,
# the same stderr lines and the same exit status.  Only what differs by
# nature is normalised: measured times and rates, and the program's name
# in the prompt and in error prefixes.  The differences docs/spindle-io.md
# lists are checked as documented.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tools-lib.sh"
need_peer qemu-io qemu-img

base=$tmp/base.raw img=$tmp/img.raw
# Fully allocated, so that map and alloc agree (a sparse raw file's holes
# are one of the documented differences), with data to read back.
qemu-img create -q -f raw -o preallocation=full "$base" 1M
qemu-io -f raw -c "write -q -P 0x11 0 64k" -c "write -q -P 0x22 64k 4k" \
    "$base" >/dev/null
: >"$tmp/stdin"

# norm: "4 KiB, 1 ops; 00.00 sec (x MiB/sec and y ops/sec)" loses its
# time and rates; "qemu-io> ", "qemu-io: " lose the program name.  With
# $usage set, usage lines ("read [-qv] ... -- reads ...") keep only the
# command's name: their option lists are each tool's own.
usage=
norm() {
    sed -E -e 's/; [0-9:.]+( sec)? \([^)]* and [0-9.]+ ops\/sec\)$/; TIME/' \
        -e 's/(qemu|spindle)-io> /IO> /g' -e 's/^(qemu|spindle)-io: /IO: /' |
        if [ -n "$usage" ]; then
            sed -E 's/^([a-z_?]+) .* -- .*$/usage of \1/'
        else
            cat
        fi
}

# same_io ARGS...: qemu-io, then spindle-io, each run with ARGS on a fresh
# copy of the base image at $img and $tmp/stdin as input.  Their
# normalised stdout, stderr and exit status must be equal; a difference
# is shown.
same_io() {
    local t
    for t in qemu-io spindle-io; do
        cp "$base" "$img"
        if [ $t = qemu-io ]; then
            qemu-io "$@" <"$tmp/stdin" >"$tmp/$t.o" 2>"$tmp/$t.e"
        else
            $SIO "$@" <"$tmp/stdin" >"$tmp/$t.o" 2>"$tmp/$t.e"
        fi
        echo "exit status $?" >>"$tmp/$t.o"
        norm <"$tmp/$t.o" >"$tmp/$t.out"
        norm <"$tmp/$t.e" >"$tmp/$t.err"
    done
    diff -u "$tmp/qemu-io.out" "$tmp/spindle-io.out" &&
        diff -u "$tmp/qemu-io.err" "$tmp/spindle-io.err"
}

# same [-r] CMD...: same_io with each CMD as a -c command on the raw image
# (-r: opened read-only).
same() {
    local args=(-f raw)
    if [ "$1" = -r ]; then
        args+=(-r)
        shift
    fi
    for c in "$@"; do
        args+=(-c "$c")
    done
    same_io "${args[@]}" "$img"
}

# ---- read, readv ------------------------------------------------------
ok "read" same "read 0 4k" "read 100 1000" "r 64k 4k" "read -q 0 512"
ok "read -P verifies" same "read -P 0x11 0 64k" "read -P 0x22 64k 4k"
ok "read -P mismatch: message, report, exit 1" same "read -P 0x11 60k 8k"
ok "read -v dumps" same "read -v 65530 20" "read -v -P 0 1M-16 16"
ok "read past the end" same "read 1M 512" "read 1023k 2k"
ok "readv" same "readv 0 512 1k 100" "readv -P 0x11 1000 24k 8k"
ok "readv -P mismatch" same "readv -P 0x11 60k 2k 4k"
ok "readv -v, -q" same "readv -v 65532 2 6" "readv -q 0 4k 4k"

# ---- write, writev ----------------------------------------------------
ok "write -P, default pattern, -q, -f" same "write -P 0x33 4k 4k" \
    "write 12345 777" "write -q -P 7 0 1" "write -f 8k 512" \
    "read -P 0x33 4k 4k" "read -P 0xcd 12345 777" "read -P 7 0 1"
ok "write -z, -z -u" same "write -z 0 4k" "write -z -u 8k 4k" \
    "write -z 100 1000" "read -P 0 0 4k" "read -P 0 8k 4k" "read -P 0 100 1000"
ok "write past the end" same "write 1M 512" "write 1023k 2k"
ok "writev" same "writev -P 0x44 100 512 1k 7" "readv -P 0x44 100 1543" \
    "writev -q 0 4k" "writev -f 8k 512 512" "read -P 0xcd 0 4k"

# ---- aio_read, aio_write, aio_flush -----------------------------------
ok "aio_write, aio_read, aio_flush" same "aio_write -P 0x55 0 4k" aio_flush \
    "aio_read -P 0x55 0 4k" aio_flush "aio_write 8k 512 512" aio_flush \
    "aio_read -v 8k 16" aio_flush "aio_read -q 0 512 512" aio_flush
ok "aio_write -z, -z -u" same "aio_write -z 0 4k" aio_flush \
    "aio_write -z -u 4k 4k" aio_flush "read -P 0 0 8k"
ok "aio_read mismatch or failure: exit 0 all the same" same \
    "aio_read -P 0x99 0 512" aio_flush "aio_read 1M 512" aio_flush
ok "aio_write -f, -q" same "aio_write -f -q 0 512" "aio_write -q 1k 1k" \
    aio_flush "read -P 0xcd 0 2k"

# ---- discard, flush ---------------------------------------------------
ok "discard, flush" same "discard 64k 64k" "d 0 512" "discard -q 4k 4k" \
    flush f "discard 1M 512"

# ---- map, alloc, info, length -----------------------------------------
ok "map" same map
ok "alloc" same "alloc 0" "alloc 0 1M" "alloc 100 1000" "alloc 1048000 1000" \
    "alloc 1M 1" "alloc 2M" "alloc 0x1000 0x2000"
ok "info, length" same info i length l

# ---- truncate ---------------------------------------------------------
ok "truncate grows and shrinks" same "truncate 2M" length "t 512k" length \
    "read 600k 1" "truncate -m off 1M" length
ok "truncate: operands after the size are ignored" same "truncate 1M 2" length
ok "truncate -m: unknown mode" same "truncate -m bogus 1M" length

# ---- sleep, open, close -----------------------------------------------
ok "sleep" same "sleep 10" "sleep 0" "sleep 0x10" "sleep x" "sleep 1k" \
    "sleep -1"
# (Read-only opens: qemu-io warns when it probes a raw image read-write.)
ok "close, open, open twice" same close info close "open -r $img" length \
    "open -r $img" "c" "o -r $img" "read -q 0 1" close
ok "open -n, -U" same close "open -r -n $img" "read -P 0x11 0 512" close \
    "open -r -U $img" info
ok "a file given to a tool with no image" same_io -c "open -r $img" \
    -c "read -q 0 1" -c close -c length

# ---- read-only images -------------------------------------------------
ok "read-only: writing commands refused" same -r "write 0 1" "writev 0 1" \
    "aio_write 0 512" aio_flush "discard 0 512" "truncate 2M" "write -z 0 512"
ok "read-only: reading commands work" same -r "read -P 0x11 0 512" flush \
    aio_flush length map

# ---- argument errors --------------------------------------------------
ok "operand counts" same "read" "read 0" "alloc" "alloc 0 1 2" "truncate" \
    "map 1" "sleep" "open" "help a b" "discard 0" "aio_flush 1" "flush 1 2" \
    "length 1" "info 1" "close 1" "readv 0" "write 0" "read -P" "quit 1 2"
ok "bad numbers and patterns" same "read 0 12x" "read x 1" "read 1E 1" \
    "write 0 99999999999999999999" "alloc x" "alloc 0 x" "truncate x" \
    "readv 0 x" "read -P 300 0 1" "read -P x 0 1" "write -P -1 0 1"
ok "conflicting write flags" same "write -z -P 1 0 1" "write -u 0 1" \
    "write -u -P 1 0 1" "aio_write -u 0 512" "aio_write -z 0 512 512"
ok "unknown command" same "frob" "length"
usage=1
ok "bad options and operands: getopt's message and the usage line" same \
    "read -x 0 1" "read 0 1 2" "write -x 0 1" "readv -x 0 1" "writev -v 0 1" \
    "aio_read -x 0 1" "aio_write -v 0 1" "discard -x 0 1" "discard 0 1 2" \
    "truncate -x 1M" "open -x f" "open a b" "read 0 1 -P"
usage=

# ---- help -------------------------------------------------------------
ok "help CMD names the command" bash -c "$SIO -c 'help read' -c 'help r' \
    -c 'help aio_flush' | cut -d' ' -f1 | tr '\n' ' ' | grep -qx 'read r aio_flush '"
ok "help with an unknown command" same "help nosuch"
ok "help lists every command" keep $SIO -c help
for c in read readv write writev aio_read aio_write aio_flush discard flush \
        map alloc info length truncate sleep open close help quit; do
    ok "help lists $c" grep -q "^$c .*-- " "$tmp/kept"
done

# ---- the prompt -------------------------------------------------------
# With stdin not a terminal, qemu-io prints its prompt before each line
# it reads, runs the line, and stops at quit or at the end of input.
printf '%s\n' "write -P 0x66 0 512" "read -P 0x66 0 512" "" "frob" length \
    "read -P 0x67 0 512" quit length >"$tmp/stdin"
ok "prompt: commands on stdin, quit ends" same_io -f raw "$img"
printf 'length\nread 0 1' >"$tmp/stdin"
ok "prompt: the end of input ends, a last line without newline runs" \
    same_io -f raw "$img"
printf '%s\n' "open -r $img" "read -P 0x11 0 4k" close length >"$tmp/stdin"
ok "prompt: no image at the start, open at the prompt" same_io
: >"$tmp/stdin"

# ---- documented differences (docs/spindle-io.md) ----------------------
qemu-img create -q -f raw "$tmp/sparse.raw" 1M
ok "map: a sparse raw file's holes show as not allocated" keep \
    $SIO -f raw -c "write -q 0 64k" -c map -c "alloc 0 128k" "$tmp/sparse.raw"
ok "map: the written part allocated, the rest not" diff - "$tmp/kept" <<'EOF'
64 KiB (0x10000) bytes     allocated at offset 0 bytes (0x0)
960 KiB (0xf0000) bytes not allocated at offset 64 KiB (0x10000)
65536/131072 bytes allocated at offset 0 bytes
EOF
ok "request size limit: 1 GiB, in qemu-io's words" status_is 1 keep \
    $SIO -f raw -c "read 0 3G" -c "readv 0 3G" -c "readv 0 1G 1" "$img"
ok "request size limit: the messages" diff - "$tmp/kept" <<'EOF'
length cannot exceed 1073741824, given 3G
Argument '3G' exceeds maximum size 1073741824
The total number of bytes exceed the maximum size 1073741824
EOF
ok "aio_write -z with -P refused" status_is 1 keep \
    $SIO -f raw -c "aio_write -z -P 1 0 512" "$img"
ok "aio_write -z with -P: the message" \
    grep -qx -- "-z and -P cannot be specified at the same time" "$tmp/kept"
ok "truncate -m full refused" status_is 1 keep \
    $SIO -f raw -c "truncate -m full 2M" "$img"
ok "truncate -m full: the message" \
    grep -qx "spindle-io: Unsupported preallocation mode 'full'" "$tmp/kept"
ok "open: read-write at the prompt, without qemu-io's probing warning" \
    bash -c "[ \"\$(printf 'open %s\\nwrite -q -P 0x77 0 1\\n' '$img' |
        $SIO 2>&1)\" = 'spindle-io> spindle-io> spindle-io> ' ]"
ok "open: the write landed" qemu-io -f raw -c "read -q -P 0x77 0 1" "$img"
ok "open: a missing file, qemu-io's prefix and reason" bash -c \
    "$SIO -c 'open $tmp/none.raw' 2>&1 | grep -x \
    \"spindle-io: can't open device $tmp/none.raw: .*: No such file or directory\""
finish
