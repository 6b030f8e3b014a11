#!/bin/bash
# Interop: crash consistency of qcow2 images written by our library.
#
# crash-writer does random writes, discards and flushes on an image and
# is killed with SIGKILL after a random delay, 50 times per mode (plain
# refcounts, lazy refcounts) and 17 times each with extended L2 entries
# and with a persistent bitmap (these two check as plain).  After each
# kill:
#   plain: `qemu-img check` and our check (image-peer check) report no
#          corruption and the same leaks; leaks are repaired (by qemu-img
#          check -r leaks or by ours, alternately) and the image is clean.
#   lazy:  the image may be dirty; a writable open through our library
#          repairs it and `qemu-img check` is then clean; QEMU's own
#          repair (check -r all) of a copy also ends clean.
# Then every block written or discarded before the last completed flush
# must read back (crash-writer verify, from the writer's journal).
#
#   qcow2-crash.sh BUILD_DIR      (the folder holding crash-writer)
#
# Seeded: QCOW2_CRASH_SEED=N reproduces a run (the seed is printed).
# Prints TAP; skips without qemu-img or the programs.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

bld=${1:-.}
writer=$bld/crash-writer
peer=$bld/image-peer
iterations=${QCOW2_CRASH_ITERATIONS:-50}

if ! command -v qemu-img >/dev/null 2>&1; then
    echo "1..0 # SKIP qemu-img is not installed (Debian package qemu-utils)"
    exit 0
fi
if [ ! -x "$writer" ] || [ ! -x "$peer" ]; then
    echo "1..0 # SKIP crash-writer or image-peer was not built"
    exit 0
fi

seed=${QCOW2_CRASH_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$seed
echo "# seed $seed (QCOW2_CRASH_SEED=$seed reproduces this run)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/spindle-crash-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
img=$tmp/img.qcow2
jnl=$tmp/journal
log=$tmp/log
blocks=4096           # 16 MiB of guest data in 4 KiB blocks
n=0
failed=0

# json_field FILE NAME: a number from qemu-img's JSON (absent means 0).
json_field() {
    local v
    v=$(sed -n "s/.*\"$2\": *\([0-9]*\).*/\1/p" "$1" | head -n 1)
    echo "${v:-0}"
}

# peer_field FILE NAME: a number from image-peer check's output.
peer_field() {
    sed -n "s/^$2=//p" "$1"
}

# One kill: write for a random delay, SIGKILL, wait.
crash_once() {
    local cluster=$1 wseed=$RANDOM
    local delay
    delay=$(printf '0.%03d' $(( RANDOM % 400 + 20 )))
    "$writer" run "$img" "$jnl" "$wseed" "$blocks" "$cluster" \
        2>>"$log" &
    local pid=$!
    sleep "$delay"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    echo "writer seed $wseed killed after ${delay}s" >>"$log"
}

# Fails (returns 1) with the reason in $log.
check_plain() {
    local i=$1 qrc prc
    qemu-img check --output=json "$img" >"$tmp/q.json" 2>>"$log"
    qrc=$?
    "$peer" check "$img" >"$tmp/p.out" 2>>"$log"
    prc=$?
    if [ "$qrc" != 0 ] && [ "$qrc" != 3 ]; then
        echo "qemu-img check exit $qrc" >>"$log"; return 1
    fi
    if [ "$prc" != 0 ] && [ "$prc" != 3 ]; then
        echo "our check exit $prc" >>"$log"; return 1
    fi
    if [ "$(json_field "$tmp/q.json" leaks)" != \
         "$(peer_field "$tmp/p.out" leaks)" ]; then
        echo "leak counts differ" >>"$log"; return 1
    fi
    if [ "$qrc" = 3 ]; then
        if [ $((i % 2)) = 0 ]; then
            qemu-img check -r leaks "$img" >>"$log" 2>&1 || return 1
        else
            "$peer" check -r leaks "$img" >>"$log" 2>&1 || return 1
        fi
        qemu-img check "$img" >>"$log" 2>&1 || return 1
    fi
    return 0
}

check_lazy() {
    cp "$img" "$tmp/copy.qcow2"
    # our repair, by a writable open
    "$peer" "$img" >>"$log" 2>&1 || return 1
    qemu-img check "$img" >>"$log" 2>&1 || return 1
    if [ $(( $(od -An -j 79 -N 1 -t u1 "$img") & 1 )) != 0 ]; then
        echo "still dirty after the repair" >>"$log"; return 1
    fi
    # QEMU's repair of the same crash ends clean too
    qemu-img check -r all "$tmp/copy.qcow2" >>"$log" 2>&1
    qemu-img check "$tmp/copy.qcow2" >>"$log" 2>&1 || return 1
    "$writer" verify "$tmp/copy.qcow2" "$jnl" "$blocks" >>"$log" 2>&1
}

# run_mode MODE OPTS ITERATIONS: MODE lazy checks as above, bitmap adds
# a persistent bitmap (loaded, so "in use" at the crash), extl2 needs
# clusters of 16 KiB or more; the others check as plain.
run_mode() {
    local mode=$1 opts=$2 iters=$3 bad=0 i cluster
    for i in $(seq 1 "$iters"); do
        : >"$log"
        cluster=$(( RANDOM % 4 == 0 ? 65536 : 4096 ))
        if [ "$mode" = extl2 ]; then
            cluster=$(( RANDOM % 2 == 0 ? 65536 : 32768 ))
        fi
        rm -f "$img" "$jnl"
        qemu-img create -q -f qcow2 -o "cluster_size=$cluster$opts" \
            "$img" $((blocks * 4))K >>"$log" 2>&1
        if [ "$mode" = bitmap ]; then
            qemu-img bitmap --add "$img" b0 >>"$log" 2>&1
        fi
        crash_once "$cluster"
        if [ "$mode" = lazy ]; then
            check_lazy || bad=1
        else
            check_plain "$i" || bad=1
        fi
        if [ "$bad" = 0 ]; then
            "$writer" verify "$img" "$jnl" "$blocks" >>"$log" 2>&1 || bad=1
        fi
        if [ "$bad" = 1 ]; then
            echo "# $mode iteration $i failed (cluster size $cluster):"
            sed 's/^/#   /' "$log" | tail -n 40
            break
        fi
    done
    n=$((n + 1))
    if [ "$bad" = 0 ]; then
        echo "ok $n $mode: $iters crashes, no corruption, durable data intact"
    else
        failed=$((failed + 1))
        echo "not ok $n $mode: crash $i left the image inconsistent"
    fi
}

# The new features get fewer runs each, to keep the whole under 90 s.
few=$(( (iterations + 2) / 3 ))
echo "1..4"
run_mode plain "" "$iterations"
run_mode lazy ",lazy_refcounts=on" "$iterations"
run_mode extl2 ",extended_l2=on" "$few"
run_mode bitmap "" "$few"
[ "$failed" = 0 ]
