#!/bin/bash
# Interop: spindle-img convert against qemu-img.  Outputs are checked with
# qemu-img compare and their allocation with qemu-img map --output=json;
# bad input gives one line and exit 1; progress output has qemu-img's
# shape (-p), one JSON line per percent (--progress=json), and SIGUSR1
# prints the current line.  qcow2 round trips run once the driver exists.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tools-lib.sh"
need_peer qemu-img /usr/bin/python3
MIXED=$(dirname "$0")/../../scripts/mixed-image.py

# data_bytes IMAGE: bytes qemu-img map reports as data.
data_bytes() {
    qemu-img map --output=json -f raw "$1" |
        awk -F'[:,]' '/"data": true/ { s += $4 } END { print s + 0 }'
}
# fails_one_line COMMAND...: exit 1 and exactly one stderr line.
fails_one_line() {
    "$@" >/dev/null 2>"$tmp/err"
    local r=$?
    [ $r -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] ||
        { echo "exit $r"; cat "$tmp/err"; return 1; }
}
same() { cmp "$1" "$2" && qemu-img compare -q -f raw -F raw "$1" "$2"; }

src=$tmp/mixed.raw out=$tmp/out.raw
/usr/bin/python3 "$MIXED" "$src" 16 7
half=$((8 * 1024 * 1024)) full=$((16 * 1024 * 1024))

# ---- raw -> raw: content and allocation
ok "convert raw -> raw" $SIMG convert -f raw -O raw "$src" "$out"
ok "qemu-img compare: identical" qemu-img compare -f raw -F raw "$src" "$out"
ok "-S 4k: zeroes and holes stay sparse (only the data half allocated)" \
    test "$(data_bytes "$out")" -eq $half
ok "qemu-img convert the same" \
    qemu-img convert -f raw -O raw "$src" "$tmp/q.raw"
ok "allocation no larger than qemu-img's" \
    test "$(data_bytes "$out")" -le "$(data_bytes "$tmp/q.raw")"
ok "convert -S 0" $SIMG convert -S 0 "$src" "$tmp/full.raw"
ok "-S 0: everything written" test "$(data_bytes "$tmp/full.raw")" -eq $full
ok "-S 0: same content" same "$src" "$tmp/full.raw"
ok "-S 64k" $SIMG convert -S 64k "$src" "$tmp/s64.raw"
ok "-S 64k: same content" cmp "$src" "$tmp/s64.raw"
ok "-S 64k: only the data half allocated (256 KiB runs)" \
    test "$(data_bytes "$tmp/s64.raw")" -eq $half

# ---- several sources, concatenated
/usr/bin/python3 "$MIXED" "$tmp/b.raw" 3 9
ok "convert a + b + a" $SIMG convert "$src" "$tmp/b.raw" "$src" "$tmp/cat.raw"
ok "qemu-img converts the same" \
    qemu-img convert -O raw "$src" "$tmp/b.raw" "$src" "$tmp/qcat.raw"
ok "concatenation identical to qemu-img's" same "$tmp/cat.raw" "$tmp/qcat.raw"
ok "concatenation has the summed size" \
    test "$(stat -c %s "$tmp/cat.raw")" -eq $((35 * 1024 * 1024))

# ---- -n into an existing target
qemu-img create -q -f raw "$tmp/big.raw" 20M
qemu-io -f raw -c "write -q -P 0x5a 0 20M" "$tmp/big.raw" >/dev/null
ok "convert -n into a larger existing target" \
    $SIMG convert -n -f raw -O raw "$src" "$tmp/big.raw"
ok "-n: the first 16 MiB are the source (holes written as zeroes)" \
    cmp -n $full "$src" "$tmp/big.raw"
ok "-n: the rest is untouched" sh -c \
    "tail -c 4194304 '$tmp/big.raw' | od -An -tx1 | tr -s ' ' '\n' |
     grep -v '^\$' | sort -u | grep -qx 5a"
qemu-img create -q -f raw "$tmp/small.raw" 1M
ok "-n into a smaller target fails with one line" \
    fails_one_line $SIMG convert -n "$src" "$tmp/small.raw"
ok "... saying so" grep -q "output file is smaller than input file" "$tmp/err"
ok "--target-is-zero with -n" \
    $SIMG convert -n --target-is-zero "$src" "$tmp/q.raw"

# ---- -W and -m give the same output
for v in "-m 1" "-m 16" "-W" "-W -m 3" "-m 2 -S 512"; do
    rm -f "$tmp/v.raw"
    ok "convert $v identical" sh -c \
        "$SIMG convert $v '$src' '$tmp/v.raw' && cmp '$src' '$tmp/v.raw'"
done

# ---- --aio: every engine gives the same output; auto falls back quietly
for a in auto threads io_uring; do
    rm -f "$tmp/v.raw"
    ok "convert --aio=$a identical" sh -c \
        "$SIMG convert --aio=$a '$src' '$tmp/v.raw' && cmp '$src' '$tmp/v.raw'"
done
rm -f "$tmp/v.raw"
ok "--aio=auto without io_uring: threads, no warning" sh -c \
    "SPINDLE_FILE_IO_URING_FAIL=1 $SIMG convert '$src' '$tmp/v.raw' \
         2>'$tmp/err' && cmp '$src' '$tmp/v.raw' && test ! -s '$tmp/err'"
ok "--aio=bogus: one line, exit 1" \
    fails_one_line $SIMG convert --aio=bogus "$src" "$tmp/t0.raw"
ok "... and no target left behind" test ! -e "$tmp/t0.raw"

# ---- qcow2 round trips (once the qcow2 driver is built in)
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
q=$tmp/t.qcow2
if $SIMG convert -O qcow2 -o help >/dev/null 2>&1; then
    ok "raw -> qcow2" $SIMG convert -O qcow2 "$src" "$q"
    ok "qemu-img check: no errors" qemu-img check -q "$q"
    ok "qemu-img compare raw vs qcow2" qemu-img compare -f raw -F qcow2 "$src" "$q"
    ok "qcow2 -> raw" $SIMG convert -f qcow2 -O raw "$q" "$tmp/back.raw"
    ok "round trip identical" cmp "$src" "$tmp/back.raw"
    # In-order writes are issued in order (several in flight): clusters
    # must still be allocated in guest order, whatever the aio engine.
    in_order='
import json, sys
m = [e for e in json.load(sys.stdin) if e["data"]]
assert len(m) > 8, len(m)
assert all(a["offset"] < b["offset"] for a, b in zip(m, m[1:])), m
'
    for a in auto threads; do
        rm -f "$tmp/o.qcow2"
        ok "raw -> qcow2 --aio=$a: clusters allocated in guest order" sh -c \
            "$SIMG convert --aio=$a -m 16 -O qcow2 -o cluster_size=4k \
                 '$src' '$tmp/o.qcow2' &&
             qemu-img map --output=json '$tmp/o.qcow2' |
             /usr/bin/python3 -c '$in_order'"
    done
    ok "qemu-img's qcow2 -> raw with spindle-img" sh -c \
        "qemu-img convert -O qcow2 '$src' '$tmp/qq.qcow2' &&
         $SIMG convert -f qcow2 '$tmp/qq.qcow2' '$tmp/back2.raw' &&
         cmp '$src' '$tmp/back2.raw'"
    # ---- copy offloading (-C), and -S 0
    qmap() { qemu-img map --output=json -f "$1" "$2" | grep -o '"data": [a-z]*' | uniq -c; }
    same_map() { [ "$(qmap "$1" "$2")" = "$(qmap "$3" "$4")" ]; }
    ok "-C raw -> raw" $SIMG convert -C "$src" "$tmp/off.raw"
    ok "-C: identical content" same "$src" "$tmp/off.raw"
    ok "-C: written zeroes stay data (no zero detection, as qemu-img -C)" sh -c \
        "qemu-img convert -C '$src' '$tmp/qoff.raw' &&
         test \$(qemu-img map --output=json -f raw '$tmp/off.raw' | grep -c true) -gt 0"
    ok "-S 0 raw -> qcow2" $SIMG convert -S 0 -O qcow2 "$src" "$tmp/off.qcow2"
    ok "-S 0 qcow2: qemu-img check" qemu-img check -q "$tmp/off.qcow2"
    ok "-S 0 qcow2: identical content" \
        qemu-img compare -f raw -F qcow2 "$src" "$tmp/off.qcow2"
    ok "-S 0 qcow2: map as qemu-img -S 0" sh -c \
        "qemu-img convert -S 0 -O qcow2 '$src' '$tmp/qoff.qcow2'" &&
        ok "... same allocation" same_map qcow2 "$tmp/off.qcow2" qcow2 "$tmp/qoff.qcow2"
    ok "-C qcow2 -> qcow2" $SIMG convert -C -f qcow2 -O qcow2 "$q" "$tmp/off2.qcow2"
    ok "-C qcow2 -> qcow2: check and compare" sh -c \
        "qemu-img check -q '$tmp/off2.qcow2' &&
         qemu-img compare -f qcow2 -F qcow2 '$q' '$tmp/off2.qcow2'"
    ok "-C qcow2 -> raw" $SIMG convert -C -f qcow2 -O raw "$q" "$tmp/off3.raw"
    ok "-C qcow2 -> raw: identical" cmp "$src" "$tmp/off3.raw"
    ok "-S 0 qcow2 -> raw: identical, map as qemu-img's" sh -c \
        "$SIMG convert -S 0 -f qcow2 '$q' '$tmp/off4.raw' &&
         qemu-img convert -S 0 -f qcow2 '$q' '$tmp/qoff4.raw' &&
         cmp '$src' '$tmp/off4.raw'" &&
        ok "... same allocation" same_map raw "$tmp/off4.raw" raw "$tmp/qoff4.raw"
    ok "-C and -c refused with one line" \
        fails_one_line $SIMG convert -C -c -O qcow2 "$src" "$tmp/cc.qcow2"
    if $SIMG convert -c -O qcow2 "$src" "$tmp/c.qcow2" 2>"$tmp/err"; then
        ok "-c: qemu-img check" qemu-img check -q "$tmp/c.qcow2"
        ok "-c: identical content" \
            qemu-img compare -f raw -F qcow2 "$src" "$tmp/c.qcow2"
    else
        skip "-c raw -> compressed qcow2" \
            "qcow2 driver has no bdrv_write_compressed yet: $(cat "$tmp/err")"
    fi
else
    skip "qcow2 round trips" "no qcow2 driver in this build"
fi

# ---- bad input
ok "missing source: one line, exit 1" \
    fails_one_line $SIMG convert "$tmp/nope.raw" "$tmp/t1.raw"
ok "... and no target left behind" test ! -e "$tmp/t1.raw"
ok "unknown source format" \
    fails_one_line $SIMG convert -f nosuch "$src" "$tmp/t1.raw"
ok "unknown output format" \
    fails_one_line $SIMG convert -O nosuch "$src" "$tmp/t1.raw"
ok "-c on raw: one line, exit 1" \
    fails_one_line $SIMG convert -c -O raw "$src" "$tmp/t1.raw"
ok "... with qemu-img's message" \
    grep -qx "spindle-img: Compression not supported for this file format" \
    "$tmp/err"
ok "... and no target left behind" test ! -e "$tmp/t1.raw"
ok "-c with preallocation: one line, exit 1" fails_one_line \
    $SIMG convert -c -O qcow2 -o preallocation=metadata "$src" "$tmp/t1.qcow2"
ok "... with qemu-img's message" grep -qx "spindle-img: Compression and \
preallocation not supported at the same time" "$tmp/err"
ok "... and no target left behind" test ! -e "$tmp/t1.qcow2"
ok "-m 17 refused" fails_one_line $SIMG convert -m 17 "$src" "$tmp/t1.raw"
ok "-S 100 refused" fails_one_line $SIMG convert -S 100 "$src" "$tmp/t1.raw"
ok "--target-is-zero needs -n" \
    fails_one_line $SIMG convert --target-is-zero "$src" "$tmp/t1.raw"
ok "-B on raw refused" \
    fails_one_line $SIMG convert -B "$src" "$src" "$tmp/t1.raw"
ok "... and no target left behind" test ! -e "$tmp/t1.raw"
ok "bad -o option refused" \
    fails_one_line $SIMG convert -o bogus=1 "$src" "$tmp/t1.raw"
ok "snapshot of a raw image refused" \
    fails_one_line $SIMG convert -l snapshot.name=s1 "$src" "$tmp/t1.raw"
ok "no output name" fails_one_line $SIMG convert "$src"
printf '[inject-error]\nevent = read_aio\nerrno = 5\nsector = 8192\n' \
    >"$tmp/read-eio.ini"
printf '[inject-error]\nevent = write_aio\nerrno = 28\n' >"$tmp/enospc.ini"
ok "read error mid-copy: one line, exit 1" fails_one_line \
    $SIMG convert -f raw "blkdebug:$tmp/read-eio.ini:$src" "$tmp/t2.raw"
ok "... naming it" grep -q "Input/output error" "$tmp/err"
ok "write error (ENOSPC): one line, exit 1" fails_one_line \
    $SIMG convert -n -f raw "$src" "blkdebug:$tmp/enospc.ini:$tmp/big.raw"
ok "options may follow the file names, as with qemu-img" sh -c \
    "$SIMG convert '$src' '$tmp/late.raw' -O raw -m 2 && cmp '$src' '$tmp/late.raw'"
ok "-o help lists the size" sh -c \
    "$SIMG convert -O raw -o help | grep -q '^  size='"

# ---- progress
ok "-p" keep $SIMG convert -p "$src" "$tmp/p.raw"
cp "$tmp/kept" "$tmp/ours"
ok "-p output: (N.NN/100%) lines redrawn with CR" sh -c \
    "tr '\r' '\n' <'$tmp/ours' | grep -v '^\$' |
     grep -vqE '^    \([0-9]{1,3}\.[0-9]{2}/100%\)\$' && exit 1; true"
ok "-p output starts at 0.00 and ends with 100.00, CR, newline" sh -c \
    "head -c 16 '$tmp/ours' | grep -q '^    (0.00/100%)' &&
     tail -c 18 '$tmp/ours' | od -c | grep -q '\\\\r  *\\\\n'"
qemu-img convert -p -O raw "$src" "$tmp/qp.raw" >"$tmp/theirs"
ok "qemu-img -p has the same first and last line" sh -c \
    "[ \"\$(head -c 16 '$tmp/ours')\" = \"\$(head -c 16 '$tmp/theirs')\" ] &&
     [ \"\$(tail -c 19 '$tmp/ours')\" = \"\$(tail -c 19 '$tmp/theirs')\" ]"
ok "-q -p prints nothing" sh -c \
    "[ -z \"\$($SIMG convert -q -p '$src' '$tmp/p.raw' 2>&1)\" ]"
ok "--progress=json" sh -c \
    "$SIMG convert --progress=json '$src' '$tmp/p.raw' 2>'$tmp/json'"
check_json='
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
pc = [l["progress"] for l in lines]
assert pc[0] == 0 and pc[-1] == 100, pc
assert pc == sorted(set(pc)), pc
assert all(l["total"] == int(sys.argv[2]) for l in lines)
assert lines[-1]["bytes"] == lines[-1]["total"]
'
ok "JSON lines: 0..100, increasing, bytes and total" \
    /usr/bin/python3 -c "$check_json" "$tmp/json" $full
ok "SPINDLE_PROGRESS=json does the same" sh -c \
    "SPINDLE_PROGRESS=json $SIMG convert '$src' '$tmp/p.raw' 2>'$tmp/json' &&
     /usr/bin/python3 -c '$check_json' '$tmp/json' $full"

# A slow copy (null-co with 50 ms latency): SIGUSR1 prints the line on
# stderr without -p.
slow="driver=null-co,size=256M,latency-ns=50000000"
usr1() {
    $SIMG convert --image-opts --target-image-opts -n "$slow" \
        "driver=null-co,size=256M" 2>"$tmp/usr1" &
    local pid=$!
    sleep 0.3
    kill -USR1 $pid
    wait $pid || return 1
    cat "$tmp/usr1"
    grep -qE '^    \([0-9]{1,3}\.[0-9]{2}/100%\)$' "$tmp/usr1"
}
ok "SIGUSR1 prints the progress line" usr1
finish
