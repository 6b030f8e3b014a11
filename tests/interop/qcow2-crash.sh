#!/bin/bash
# Interop: crash consistency of qcow2 images written by our library.
#
# crash-writer does random writes, discards and flushes on an image and
# is killed with SIGKILL after a random delay: 50 times per mode with
# plain refcounts and with lazy refcounts, and 17 times each with
# extended L2 entries and with a persistent bitmap (these two check as
# plain).  Half of the kills, at random, hit a writer that keeps one
# request in flight; the others one that keeps 2 to 16 (AIO requests on
# distinct blocks, often in one cluster, with flushes among them), so
# concurrent allocation is crash-tested too.  After each kill, `qemu-img
# check` and `spindle-img check` (both with --output=json) must agree
# (exit code, counts, the error and leak lines they print), and:
#   plain: they report no corruption (exit 0 or 3), the dirty bit is
#          clear; leaks are repaired (by qemu-img check -r leaks or by
#          spindle-img check -r leaks, alternately, either must exit 0)
#          and both checks are then clean.
#   lazy:  the only errors allowed are those of refcounts that lazy
#          refcounts left behind (a refcount below the number of
#          references, and the OFLAG_COPIED mismatches that follow), only
#          on a dirty image, with no check errors.  `qemu-img check -r
#          all` of a copy must exit 0 and leave it clean; our repair of
#          the image (spindle-img check -r all, or a writable open
#          through the library, alternately) must clear the dirty bit
#          and leave it clean for both checks.
# Every block written or discarded and acknowledged before the last
# completed flush must read back (crash-writer verify, from the writer's
# journal): from the image as the kill left it, and after our repair.
#
#   qcow2-crash.sh BUILD_DIR TOOLS_DIR   (the folders holding crash-writer
#                                         and spindle-img/spindle-img)
#
# Seeded: QCOW2_CRASH_SEED=N reproduces a run (the seed is printed);
# QCOW2_CRASH_ITERATIONS=N changes the 50.  Prints TAP; skips without
# qemu-img or the programs.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

bld=${1:-.}
tools=${2:-$bld/../../tools}
writer=$bld/crash-writer
peer=$bld/image-peer
simg=$tools/spindle-img/spindle-img
iterations=${QCOW2_CRASH_ITERATIONS:-50}

if ! command -v qemu-img >/dev/null 2>&1; then
    echo "1..0 # SKIP qemu-img is not installed (Debian package qemu-utils)"
    exit 0
fi
if [ ! -x "$writer" ] || [ ! -x "$peer" ] || [ ! -x "$simg" ]; then
    echo "1..0 # SKIP crash-writer, image-peer or spindle-img was not built"
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

# json_field FILE NAME: a number from a check's JSON (absent means 0).
json_field() {
    local v
    v=$(sed -n "s/.*\"$2\": *\([0-9]*\).*/\1/p" "$1" | head -n 1)
    echo "${v:-0}"
}

fail() {
    echo "$*" >>"$log"
    return 1
}

dirty_bit() {
    echo $(( $(od -An -j 79 -N 1 -t u1 "$1") & 1 ))
}

# One kill: write for a random delay, SIGKILL, wait.
crash_once() {
    local cluster=$1 depth=$2 wseed=$RANDOM
    local delay
    delay=$(printf '0.%03d' $(( RANDOM % 400 + 20 )))
    "$writer" run "$img" "$jnl" "$wseed" "$blocks" "$cluster" "$depth" \
        2>>"$log" &
    local pid=$!
    sleep "$delay"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    echo "writer seed $wseed depth $depth killed after ${delay}s" >>"$log"
}

# The lines of a check's report that both must print alike.
report_lines='^(ERROR|Leaked cluster|Repairing)'

# check_both IMAGE: run both checks (results in $tmp/{q,s}.{json,err},
# qemu-img's exit code in $qrc) and fail unless they agree.
check_both() {
    local src f
    qemu-img check --output=json "$1" >"$tmp/q.json" 2>"$tmp/q.err"
    qrc=$?
    "$simg" check --output=json "$1" >"$tmp/s.json" 2>"$tmp/s.err"
    src=$?
    cat "$tmp/q.err" >>"$log"
    [ "$qrc" = "$src" ] ||
        fail "qemu-img check exit $qrc, spindle-img check exit $src" ||
        return 1
    for f in corruptions leaks check-errors; do
        [ "$(json_field "$tmp/q.json" $f)" = \
          "$(json_field "$tmp/s.json" $f)" ] ||
            fail "the checks count $f differently" || return 1
    done
    if ! diff <(grep -E "$report_lines" "$tmp/q.err" | sort) \
              <(grep -E "$report_lines" "$tmp/s.err" | sort) >>"$log"; then
        fail "the checks print different lines"
        return 1
    fi
}

# clean IMAGE: both checks find nothing at all.
clean() {
    check_both "$1" || return 1
    [ "$qrc" = 0 ] || fail "not clean after the repair: exit $qrc"
}

verify() {
    "$writer" verify "$1" "$jnl" "$blocks" >>"$log" 2>&1 ||
        fail "durable data lost ($2)"
}

check_plain() {
    local i=$1
    check_both "$img" || return 1
    first_qrc=$qrc
    if [ "$qrc" != 0 ] && [ "$qrc" != 3 ]; then
        fail "check exit $qrc: corruption without lazy refcounts"
        return 1
    fi
    [ "$(dirty_bit "$img")" = 0 ] || fail "dirty bit set" || return 1
    verify "$img" "as left by the kill" || return 1
    if [ "$qrc" = 3 ]; then
        if [ $((i % 2)) = 0 ]; then
            qemu-img check -r leaks "$img" >>"$log" 2>&1 ||
                fail "qemu-img check -r leaks exit $?" || return 1
        else
            "$simg" check -r leaks "$img" >>"$log" 2>&1 ||
                fail "spindle-img check -r leaks exit $?" || return 1
        fi
        clean "$img" || return 1
    fi
}

# Lazy refcounts let refcounts on disk lag behind the L2 tables: a
# refcount below its references ("ERROR cluster N refcount=R
# reference=F", R < F by how QEMU words it; R > F is a leak) and the
# OFLAG_COPIED flags that disagree with such a refcount.  Nothing else.
lazy_errors_only() {
    local bad errs
    bad=$(grep '^ERROR' "$tmp/q.err" |
          grep -Ev '^ERROR cluster [0-9]+ refcount=[0-9]+ reference=[0-9]+$' |
          grep -Ev '^ERROR OFLAG_COPIED (data|L2) cluster: ')
    [ -z "$bad" ] || fail "errors lazy refcounts do not explain: $bad" ||
        return 1
    errs=$(grep -c '^ERROR' "$tmp/q.err")
    [ "$errs" = "$(json_field "$tmp/q.json" corruptions)" ] ||
        fail "$errs error lines for" \
             "$(json_field "$tmp/q.json" corruptions) corruptions"
}

check_lazy() {
    local i=$1
    check_both "$img" || return 1
    first_qrc=$qrc
    case $qrc in
    0|3) ;;
    2)  [ "$(dirty_bit "$img")" = 1 ] ||
            fail "corruption on an image that is not dirty" || return 1
        [ "$(json_field "$tmp/q.json" check-errors)" = 0 ] ||
            fail "check errors" || return 1 ;;
    *)  fail "check exit $qrc"; return 1 ;;
    esac
    lazy_errors_only || return 1
    verify "$img" "dirty, as left by the kill" || return 1

    # QEMU's repair of a copy
    cp "$img" "$tmp/copy.qcow2"
    qemu-img check -r all "$tmp/copy.qcow2" >>"$log" 2>&1 ||
        fail "qemu-img check -r all exit $?" || return 1
    qemu-img check "$tmp/copy.qcow2" >>"$log" 2>&1 ||
        fail "not clean after qemu-img check -r all: exit $?" || return 1
    # ours: spindle-img check -r all, or a writable open, alternately
    if [ $((i % 2)) = 0 ]; then
        "$simg" check -r all "$img" >>"$log" 2>&1 ||
            fail "spindle-img check -r all exit $?" || return 1
    else
        "$peer" "$img" >>"$log" 2>&1 || fail "writable open failed" ||
            return 1
    fi
    [ "$(dirty_bit "$img")" = 0 ] || fail "still dirty after our repair" ||
        return 1
    clean "$img" || return 1
    verify "$img" "after our repair"
}

# run_mode MODE OPTS ITERATIONS: MODE lazy checks as above, bitmap adds
# a persistent bitmap (loaded, so "in use" at the crash), extl2 needs
# clusters of 16 KiB or more; the others check as plain.
run_mode() {
    local mode=$1 opts=$2 iters=$3 bad=0 i cluster depth deep=0 found=0
    local what="leaks"
    [ "$mode" = lazy ] && what="leaks or lazy refcount errors"
    for i in $(seq 1 "$iters"); do
        : >"$log"
        cluster=$(( RANDOM % 4 == 0 ? 65536 : 4096 ))
        if [ "$mode" = extl2 ]; then
            cluster=$(( RANDOM % 2 == 0 ? 65536 : 32768 ))
        fi
        depth=1
        if [ $((RANDOM % 2)) = 1 ]; then
            depth=$(( 2 << (RANDOM % 4) ))
            deep=$((deep + 1))
        fi
        rm -f "$img" "$jnl"
        first_qrc=0
        qemu-img create -q -f qcow2 -o "cluster_size=$cluster$opts" \
            "$img" $((blocks * 4))K >>"$log" 2>&1
        if [ "$mode" = bitmap ]; then
            qemu-img bitmap --add "$img" b0 >>"$log" 2>&1
        fi
        crash_once "$cluster" "$depth"
        if [ "$mode" = lazy ]; then
            check_lazy "$i" || bad=1
        else
            check_plain "$i" || bad=1
        fi
        if [ "$first_qrc" != 0 ]; then
            found=$((found + 1))
        fi
        if [ "$bad" = 1 ]; then
            echo "# $mode iteration $i failed (cluster size $cluster," \
                 "$depth in flight):"
            sed 's/^/#   /' "$log" | tail -n 40
            break
        fi
    done
    n=$((n + 1))
    if [ "$bad" = 0 ]; then
        echo "ok $n $mode: $iters crashes ($deep with 2 to 16 requests in" \
             "flight, $found left $what), no corruption, durable data intact"
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
