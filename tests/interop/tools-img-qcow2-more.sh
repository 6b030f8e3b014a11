#!/bin/bash
# Interop: more spindle-img commands on qcow2 against qemu-img 7.2 on the
# same images: check and repair of images damaged on purpose
# (qcow2-poke.py), compare -s, convert -B/-F and from an internal
# snapshot, create with a backing file, with preallocation and with other
# refcount widths, bench on a qcow2 file, and the progress output of
# commit, rebase, amend and dd.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tools-lib.sh"
need_peer qemu-img qemu-io cmp /usr/bin/python3
$SIMG create -q -f qcow2 "$tmp/probe.qcow2" 1M >/dev/null 2>&1 ||
    { echo "1..0 # SKIP no qcow2 driver in this build"; exit 0; }
poke_py=$(dirname "$0")/qcow2-poke.py
poke() { /usr/bin/python3 "$poke_py" "$@"; }

# ---- check and repair -------------------------------------------------
# damaged_base IMAGE: 4k clusters, data at 0 (64k) and at 1M (8k).
damaged_base() {
    qemu-img create -q -f qcow2 -o cluster_size=4k "$1" 8M &&
        qemu_io "$1" "write -q -P 90 0 64k" "write -q -P 91 1M 8k"
}
# make_leak IMAGE: the L2 entry of guest 1M cleared, its cluster leaked.
make_leak() { damaged_base "$1" && poke "$1" l2 1048576 0; }
# make_corrupt IMAGE COPY: COPY keeps the data, then the cluster of
# guest 0 gets refcount 0 in IMAGE while its L2 entry still uses it.
make_corrupt() {
    local e
    damaged_base "$1" && cp "$1" "$2" && e=$(poke "$1" l2get 0) &&
        poke "$1" refcount $(( (e & 0x00fffffffffffe00) >> 12 )) 0
}

# check_json IMAGE STATUS: check --output=json exits with STATUS in both
# tools and prints the same object.  Both get the same name, so even
# "filename" is the same: no field differs.
check_json() {
    $SIMG check --output=json "$1" >"$tmp/ours.json"
    [ $? -eq "$2" ] || { echo "spindle-img: not $2"; return 1; }
    qemu-img check --output=json "$1" >"$tmp/qemu.json"
    [ $? -eq "$2" ] || { echo "qemu-img: not $2"; return 1; }
    json_equal "$tmp/ours.json" "$tmp/qemu.json"
}

# repair_like MODE IMAGE: check -r MODE on IMAGE-ours.qcow2 (spindle-img)
# and IMAGE-qemu.qcow2 (qemu-img), copies of IMAGE: the same report on
# stdout and exit status.  (On stderr qemu-img names a leak twice,
# "Leaked cluster" before "Repairing cluster": it compares twice.)
repair_like() {
    local base=${2%.qcow2}
    cp "$2" "$base-ours.qcow2" && cp "$2" "$base-qemu.qcow2" &&
        diff <($SIMG check -r "$1" "$base-ours.qcow2" 2>/dev/null
               echo "rc=$?") \
            <(qemu-img check -r "$1" "$base-qemu.qcow2" 2>/dev/null
              echo "rc=$?")
}

leak=$tmp/leak.qcow2
ok "check: an image with a leaked cluster" make_leak "$leak"
ok "check: leak found, exit 3" status_is 3 $SIMG check "$leak"
ok "check: leak count, report and status as qemu-img's" \
    same_output check "$leak"
ok "check --output=json: leak, qemu-img's keys and values" check_json "$leak" 3
ok "check --output=json: one leak" grep -q '"leaks": 1,' "$tmp/ours.json"
ok "check -r leaks: exit 0, qemu-img's report" repair_like leaks "$leak"
ok "check -r leaks: qemu-img check finds it clean" \
    qemu-img check -q "$tmp/leak-ours.qcow2"
ok "check -r leaks: reads as qemu-img's repair" \
    qemu-img compare -q "$tmp/leak-ours.qcow2" "$tmp/leak-qemu.qcow2"

bad=$tmp/bad.qcow2
ok "check: an image with a refcount too low" \
    make_corrupt "$bad" "$tmp/bad-copy.qcow2"
ok "check: corruption found, exit 2" status_is 2 $SIMG check "$bad"
ok "check: corruption report and status as qemu-img's" same_output check "$bad"
ok "check --output=json: corruption, as qemu-img's" check_json "$bad" 2
cp "$bad" "$tmp/bad-ours.qcow2"
ok "check -r all: exit 0" \
    status_is 0 $SIMG check -q -r all "$tmp/bad-ours.qcow2"
ok "check -r all: qemu-img check finds it clean" \
    qemu-img check -q "$tmp/bad-ours.qcow2"
ok "check -r all: data intact" \
    qemu-img compare -q "$tmp/bad-ours.qcow2" "$tmp/bad-copy.qcow2"

# ---- compare -s ---------------------------------------------------------
c=$tmp/c
mkdir -p "$c"
# strict_like STATUS A B: compare -s A B exits with STATUS, printing what
# qemu-img prints.
strict_like() {
    status_is "$1" $SIMG compare -s "$2" "$3" >/dev/null && shift &&
        same_output compare -s "$@"
}
ok "compare: images from qemu-img" sh -c "
    for i in e4 e4b z0 d0 p1 p2; do
        qemu-img create -q -f qcow2 $c/\$i.qcow2 4M || exit 1
    done &&
    qemu-img create -q -f qcow2 $c/e8.qcow2 8M &&
    qemu-io -f qcow2 -c 'write -q -z 0 64k' $c/z0.qcow2 &&
    qemu-io -f qcow2 -c 'write -q -P 0 0 64k' $c/d0.qcow2 &&
    qemu-io -f qcow2 -c 'write -q -P 1 0 64k' -c 'write -q -z 512k 64k' \
        $c/p1.qcow2 &&
    qemu-io -f qcow2 -c 'write -q -P 2 0 64k' $c/p2.qcow2"
ok "compare -s: size mismatch, exit 1" \
    status_is 1 $SIMG compare -s "$c/e4.qcow2" "$c/e8.qcow2"
ok "compare -s: size mismatch, qemu-img's message" \
    same_output compare -s "$c/e4.qcow2" "$c/e8.qcow2"
ok "compare: without -s a zero tail is no difference" \
    same_output compare "$c/e4.qcow2" "$c/e8.qcow2"
ok "compare -s: equal sizes and content, exit 0" \
    strict_like 0 "$c/e4.qcow2" "$c/e4b.qcow2"
ok "compare -s: zero cluster vs unallocated, as qemu-img" \
    strict_like 1 "$c/e4.qcow2" "$c/z0.qcow2"
ok "compare: without -s they are identical" \
    same_output compare "$c/e4.qcow2" "$c/z0.qcow2"
ok "compare -s: written zeroes vs zero cluster, as qemu-img" \
    strict_like 1 "$c/d0.qcow2" "$c/z0.qcow2"
ok "compare -s: written zeroes vs unallocated, as qemu-img" \
    strict_like 1 "$c/e4.qcow2" "$c/d0.qcow2"
ok "compare -s: content differs before the status does" \
    strict_like 1 "$c/p1.qcow2" "$c/p2.qcow2"

# ---- convert -B/-F, create -b/-F ---------------------------------------
v=$tmp/v
mkdir -p "$v"
ok "convert: a base and an overlay from qemu-img, a copy of the base" sh -c "
    qemu-img create -q -f qcow2 $v/bk.qcow2 4M &&
    qemu-io -f qcow2 -c 'write -q -P 1 0 2M' $v/bk.qcow2 &&
    qemu-img create -q -f qcow2 -b bk.qcow2 -F qcow2 $v/st.qcow2 &&
    qemu-io -f qcow2 -c 'write -q -P 5 1M 64k' -c 'write -q -P 6 3M 128k' \
        -c 'write -q -z 256k 64k' $v/st.qcow2 &&
    cp $v/bk.qcow2 $v/nb.qcow2"
ok "convert -B -F" $SIMG convert -O qcow2 -B nb.qcow2 -F qcow2 \
    "$v/st.qcow2" "$v/ov.qcow2"
ok "qemu-img convert -B -F" qemu-img convert -O qcow2 -B nb.qcow2 -F qcow2 \
    "$v/st.qcow2" "$v/ov-qemu.qcow2"
ok "convert -B: qemu-img info names the backing file and its format" sh -c "
    qemu-img info '$v/ov.qcow2' >'$tmp/info' &&
    grep -q '^backing file: nb.qcow2' '$tmp/info' &&
    grep -qx 'backing file format: qcow2' '$tmp/info'"
# own_extents IMAGE: the ranges the image itself holds (depth 0 in
# qemu-img map), "start length data|zero" each.
own_extents() {
    qemu-img map --output=json "$1" | /usr/bin/python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e["depth"] == 0:
        print(e["start"], e["length"], "data" if e["data"] else "zero")'
}
# (the zero cluster at 256k, the data at 1M and at 3M)
ok "convert -B: the overlay holds only what differs" \
    diff <(own_extents "$v/ov.qcow2") <(printf '%s\n' "262144 65536 zero" \
        "1048576 65536 data" "3145728 131072 data")
ok "convert -B: qemu-img map as for qemu-img's overlay" \
    diff <(qemu-img map --output=json "$v/ov.qcow2") \
        <(qemu-img map --output=json "$v/ov-qemu.qcow2")
ok "convert -B: reads as the source" \
    qemu-img compare -q "$v/ov.qcow2" "$v/st.qcow2"
ok "convert -B: qemu-img check finds it clean" qemu-img check -q "$v/ov.qcow2"
ok "convert -o backing_file,backing_fmt: as -B -F" bash -c "
    $SIMG convert -O qcow2 -o backing_file=nb.qcow2,backing_fmt=qcow2 \
        '$v/st.qcow2' '$v/ovo.qcow2' &&
    diff <(qemu-img map --output=json '$v/ovo.qcow2') \
        <(qemu-img map --output=json '$v/ov-qemu.qcow2')"
ok "convert -B without -F: qemu-img's error" \
    same_error convert -O qcow2 -B nb.qcow2 "$v/st.qcow2" "$v/none.qcow2"
ok "convert -B without -F: no target left" test ! -e "$v/none.qcow2"
# (the working folder is not $v)
ok "create -b -F: backing file relative to the image, its size taken" sh -c "
    $SIMG create -q -f qcow2 -b nb.qcow2 -F qcow2 '$v/cb.qcow2' &&
    qemu-img info --output=json '$v/cb.qcow2' |
        grep -q '\"virtual-size\": 4194304'"
ok "create -b without -F: qemu-img's error" \
    same_error create -f qcow2 -b nb.qcow2 "$v/cb2.qcow2" 1M
ok "create -u -b without -F: qemu-img's error" \
    same_error create -f qcow2 -u -b nb.qcow2 "$v/cb2.qcow2" 1M
ok "create -b: a missing backing file is refused" \
    same_status create -f qcow2 -b nosuch.qcow2 -F qcow2 "$v/cb2.qcow2" 1M
ok "create -b: the image as its own backing file" \
    same_error create -f qcow2 -b "$v/cb2.qcow2" -F qcow2 "$v/cb2.qcow2" 1M

# ---- convert from an internal snapshot ---------------------------------
sn=$tmp/sn.qcow2
ok "convert -l: an image with snapshots S1, S2 (qemu-img)" sh -c "
    qemu-img create -q -f qcow2 '$sn' 4M &&
    qemu-io -f qcow2 -c 'write -q -P 1 0 1M' '$sn' &&
    qemu-img snapshot -c S1 '$sn' &&
    qemu-io -f qcow2 -c 'write -q -P 2 512k 1M' -c 'write -q -z 0 64k' '$sn' &&
    qemu-img snapshot -c S2 '$sn' &&
    qemu-io -f qcow2 -c 'write -q -P 3 3M 64k' '$sn'"
ok "convert -l snapshot.name=S1" \
    $SIMG convert -l snapshot.name=S1 -O raw "$sn" "$tmp/s1.raw"
ok "qemu-img convert -l snapshot.name=S1" \
    qemu-img convert -l snapshot.name=S1 -O raw "$sn" "$tmp/s1-qemu.raw"
ok "convert -l snapshot.name=S1: the snapshot's bytes, as qemu-img's" \
    cmp "$tmp/s1.raw" "$tmp/s1-qemu.raw"
ok "convert -l snapshot.name=S1: not the current content" \
    status_is 1 qemu-img compare -q -f raw -F qcow2 "$tmp/s1.raw" "$sn"
ok "convert -s S1 to qcow2: the same content" sh -c "
    $SIMG convert -s S1 -O qcow2 '$sn' '$tmp/s1.qcow2' &&
    qemu-img compare -q -F raw '$tmp/s1.qcow2' '$tmp/s1-qemu.raw'"
ok "convert -l S2 (name or id): as qemu-img's, allocation too" sh -c "
    $SIMG convert -l S2 -O qcow2 '$sn' '$tmp/s2.qcow2' &&
    qemu-img convert -l S2 -O qcow2 '$sn' '$tmp/s2-qemu.qcow2' &&
    qemu-img compare -q -s '$tmp/s2.qcow2' '$tmp/s2-qemu.qcow2'"
ok "convert -l snapshot.id=1: as qemu-img's" sh -c "
    $SIMG convert -l snapshot.id=1 -O raw '$sn' '$tmp/id1.raw' &&
    cmp '$tmp/id1.raw' '$tmp/s1-qemu.raw'"
ok "convert -l: a missing snapshot, qemu-img's error" \
    same_error convert -l snapshot.name=nosuch -O raw "$sn" "$tmp/none.raw"

# ---- create: preallocation and refcount widths --------------------------
p=$tmp/p
mkdir -p "$p"
# like_qemu NAME OPTIONS: spindle-img and qemu-img create NAME-ours.qcow2
# and NAME-qemu.qcow2 with -o OPTIONS, 5M.
like_qemu() {
    $SIMG create -q -f qcow2 -o "$2" "$p/$1-ours.qcow2" 5M &&
        qemu-img create -q -f qcow2 -o "$2" "$p/$1-qemu.qcow2" 5M
}
same_size() { [ "$(stat -c %s "$1")" = "$(stat -c %s "$2")" ]; }
same_map() {
    diff <(qemu-img map --output=json "$1") <(qemu-img map --output=json "$2")
}
for pa in off metadata falloc full; do
    o=$p/$pa-ours.qcow2 t=$p/$pa-qemu.qcow2
    ok "create preallocation=$pa" like_qemu "$pa" "preallocation=$pa"
    ok "preallocation=$pa: qemu-img check finds it clean" qemu-img check -q "$o"
    ok "preallocation=$pa: qemu-img map as for qemu-img's" same_map "$o" "$t"
    ok "preallocation=$pa: qemu-img info as for qemu-img's" diff \
        <(qemu-img info "$o" | grep -v '^image:\|^disk size:') \
        <(qemu-img info "$t" | grep -v '^image:\|^disk size:')
    # (without preallocation qemu-img writes 8 bytes of L1, we a sector)
    [ "$pa" = off ] ||
        ok "preallocation=$pa: the file size of qemu-img's" same_size "$o" "$t"
done
for rb in 1 16 64; do
    o=$p/rb$rb-ours.qcow2
    ok "create refcount_bits=$rb" like_qemu "rb$rb" "refcount_bits=$rb"
    ok "refcount_bits=$rb: qemu-img info shows it" sh -c \
        "qemu-img info '$o' | grep -qx '    refcount bits: $rb'"
    ok "refcount_bits=$rb: qemu-img check finds it clean" qemu-img check -q "$o"
    ok "refcount_bits=$rb: clean after qemu-io writes" sh -c "
        qemu-io -f qcow2 -c 'write -q -P 7 0 3M' -c 'write -q -z 1M 64k' '$o' &&
        qemu-img check -q '$o'"
done
# Several L2 tables: qemu-img places them after all the data, we next to
# the data they map, so only the sizes and the allocation are compared.
o=$p/many-ours.qcow2 t=$p/many-qemu.qcow2
ok "create refcount_bits=64,preallocation=full, 4k clusters" like_qemu many \
    refcount_bits=64,preallocation=full,cluster_size=4k
ok "refcount_bits=64,preallocation=full: the file size of qemu-img's" \
    same_size "$o" "$t"
ok "refcount_bits=64,preallocation=full: clean, all allocated" sh -c "
    qemu-img check --output=json '$o' >'$tmp/many.json' &&
    grep -q '\"allocated-clusters\": 1280,' '$tmp/many.json'"

# ---- bench on a qcow2 file ------------------------------------------------
bq=$tmp/bench.qcow2
ok "bench: a fresh qcow2 from qemu-img" qemu-img create -q -f qcow2 "$bq" 64M
ok "bench -f qcow2 reads" keep $SIMG bench -f qcow2 -c 2000 -d 8 "$bq"
ok "bench reads: run completed" \
    grep -Eqx "Run completed in [0-9]+\.[0-9]{3} seconds\." "$tmp/kept"
ok "bench reads: qemu-img's header" bash -c "
    diff <(head -1 '$tmp/kept') \
        <(qemu-img bench -f qcow2 -c 2000 -d 8 '$bq' | head -1)"
ok "bench -w --pattern 0x5a" \
    keep $SIMG bench -f qcow2 -w -c 2000 -d 8 --pattern 0x5a "$bq"
ok "bench writes: run completed" \
    grep -Eqx "Run completed in [0-9]+\.[0-9]{3} seconds\." "$tmp/kept"
ok "bench writes: qemu-img check finds it clean" qemu-img check -q "$bq"
ok "bench writes: 0x5a over the 2000 requests" \
    qemu_io -r "$bq" "read -q -P 0x5a 0 8192000"
ok "bench writes: nothing past them" qemu_io -r "$bq" "read -q -P 0 8192000 64k"

# ---- progress: -p and --progress=json -----------------------------------
g=$tmp/g
mkdir -p "$g"
# progress_chain SIDE: base-SIDE.qcow2 (1M of data) under top-SIDE.qcow2
# (1M more), and an empty new-SIDE.qcow2.
progress_chain() {
    qemu-img create -q -f qcow2 "$g/base-$1.qcow2" 4M &&
        qemu-img create -q -f qcow2 "$g/new-$1.qcow2" 4M &&
        qemu-img create -q -f qcow2 -b "base-$1.qcow2" -F qcow2 \
            "$g/top-$1.qcow2" &&
        qemu_io "$g/base-$1.qcow2" "write -q -P 1 0 1M" &&
        qemu_io "$g/top-$1.qcow2" "write -q -P 2 2M 1M"
}
# human_progress FILE: FILE (a -p run's stdout) draws qemu-img's line
# "    (NN.NN/100%)" from 0.00 to 100.00, each frame ended by a carriage
# return, the last one followed by a newline.
human_progress() {
    tr '\r' '\n' <"$1" | grep '^    (' >"$tmp/frames"
    [ "$(head -1 "$tmp/frames")" = "    (0.00/100%)" ] &&
        [ "$(tail -1 "$tmp/frames")" = "    (100.00/100%)" ] &&
        ! grep -Evx '    \([0-9]{1,3}\.[0-9]{2}/100%\)' "$tmp/frames" &&
        grep -q $'    (100.00/100%)\r$' "$1" ||
        { od -c "$1" | head -20; return 1; }
}
# progress_like IMAGE CMD ARGS...: spindle-img CMD ARGS on IMAGE-ours
# and qemu-img CMD ARGS on IMAGE-qemu (names in ARGS ending in "-SIDE"
# become "-ours"/"-qemu") both draw qemu-img's progress and print the
# same other lines.
progress_like() {
    local img=$1 side; shift
    for side in ours qemu; do
        local tool=qemu-img
        [ $side = ours ] && tool=$SIMG
        $tool "${@//-SIDE/-$side}" "$g/$img-$side.qcow2" >"$tmp/p-$side" ||
            { echo "$tool failed"; return 1; }
        human_progress "$tmp/p-$side" || return 1
        tr '\r' '\n' <"$tmp/p-$side" | grep -v '^    (\|^$' >"$tmp/rest-$side"
    done
    diff "$tmp/rest-ours" "$tmp/rest-qemu"
}
ok "progress: chains for both tools" \
    eval "progress_chain ours && progress_chain qemu"
ok "amend -p: qemu-img's progress" progress_like top amend -p \
    -o lazy_refcounts=on
ok "rebase -p: qemu-img's progress" progress_like top rebase -p \
    -b new-SIDE.qcow2 -F qcow2
ok "rebase -p: the content kept" \
    qemu-img compare -q "$g/top-ours.qcow2" "$g/top-qemu.qcow2"
ok "commit -p: qemu-img's progress" progress_like top commit -p
ok "commit -p: the new backing file holds it" \
    qemu-img compare -q "$g/new-ours.qcow2" "$g/new-qemu.qcow2"
# dd_progress OPTION OUT: spindle-img dd OPTION (-p or --progress=...) of
# new-ours.qcow2 into OUT; stdout in $tmp/p-dd, stderr in $tmp/json.
dd_progress() {
    $SIMG dd "$1" -O raw bs=64k if="$g/new-ours.qcow2" of="$2" \
        >"$tmp/p-dd" 2>"$tmp/json"
}
ok "dd -p: qemu-img's progress line (qemu-img dd has no -p)" \
    eval 'dd_progress -p "$g/dd.raw" && human_progress "$tmp/p-dd"'
ok "dd -p: the data" qemu-img compare -q -F raw "$g/new-ours.qcow2" "$g/dd.raw"
# json_progress FILE: every line {"progress": P, "bytes": B, "total": T},
# P never going down, from 0 to 100, the last with B == T.
json_progress() {
    /usr/bin/python3 - "$1" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
ps = [l["progress"] for l in lines]
ok = (all(sorted(l) == ["bytes", "progress", "total"] for l in lines)
      and ps == sorted(ps) and ps[0] == 0 and ps[-1] == 100
      and lines[-1]["bytes"] == lines[-1]["total"] > 0)
print(*lines, sep="\n") if not ok else None
sys.exit(not ok)
PY
}
ok "dd --progress=json: JSON lines on stderr up to 100, stdout empty" \
    eval 'dd_progress --progress=json "$g/dd2.raw" && [ ! -s "$tmp/p-dd" ] &&
        json_progress "$tmp/json"'
ok "commit --progress=json: JSON lines up to 100" eval '
    qemu_io "$g/top-ours.qcow2" "write -q -P 3 1M 512k" &&
    $SIMG commit --progress=json "$g/top-ours.qcow2" 2>"$tmp/json" >/dev/null &&
    json_progress "$tmp/json"'
finish
