#!/bin/bash
# Interop matrix: qcow2 images made by each side, checked by the other.
#
# For each row of the table below, both directions:
#   ours    spindle-img create (-o ..., -b/-F for the chain), spindle-io
#           write -P / write -z / discard, spindle-img snapshot -c and
#           spindle-img convert (a flattened copy, -c compressed): every
#           layer and the copy pass `qemu-img check` (no errors, no leaks)
#           and `qemu-img compare` with the expected raw data;
#   QEMU's  the same made by qemu-img / qemu-io: read identically through
#           spindle-img compare and convert, pass `spindle-img check`;
# and for both: `qemu-img snapshot -l` = `spindle-img snapshot -l`,
# `qemu-img map --output=json` = `spindle-img map --output=json` (parsed;
# the human tables are compared as text too), and `info
# --backing-chain --output=json` the same (parsed) in both tools.
#
# LUKS rows (encrypt.format=luks, iter-time=10 to keep PBKDF2 fast)
# encrypt every layer and the copy with one secret, given as QEMU takes
# it: `--object secret,id=sec0,data=...` and --image-opts
# "driver=qcow2,file.filename=F,encrypt.key-secret=sec0" with
# "backing.encrypt.key-secret=sec0", "backing.backing.encrypt..." for
# each layer below (both tools need every layer's key to read through a
# chain; `create -b` and `info` need none).  qemu-img refuses `convert
# -c` to an encrypted target, so their copy is encrypted and not
# compressed, and both tools must refuse -c with the same line.
#
# Axes: cluster size 4k/64k/2M, compat 0.10/1.1, extended_l2 off/on,
# compression type zlib/zstd, backing chain (3 layers) no/yes, internal
# snapshots no/yes, lazy refcounts off/on, LUKS off/on.  The rows are
# not the Cartesian product but a pairwise covering set: every pair of
# values of two axes appears in at least one row, except the impossible
# pairs: compat=0.10 excludes extended_l2, zstd and lazy refcounts
# (qemu-img refuses each), and extended_l2 needs clusters of 16 KiB or
# more (so not 4k).  compat=0.10 does hold LUKS (qemu-img 7.2 creates
# it; the crypto header is a header extension, which version 2 has).
# check_rows below asserts this coverage from the table itself.
#
# The data: 16 MiB images; the base gets data over several clusters, a
# discarded 2 MiB run (aligned for every cluster size) and a small
# extent; the middle layer data, zeroes and a 4 KiB write; the top a
# partial-cluster write (subclusters with extended L2), zeroes, data at
# the end and, after the first snapshot, a write over shared clusters.
# Without a chain all of it goes into one image, in the same order.
#
#   qcow2-matrix.sh INTEROP_BUILD_DIR TOOLS_BUILD_DIR
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tools-lib.sh"
need_peer qemu-io qemu-img python3

SIZE=16M
SEC="secret,id=sec0,data=Pa55word"
KEY=encrypt.key-secret=sec0
LUKS_OPTS="encrypt.format=luks,$KEY,encrypt.iter-time=10"

# The rows:
#   name cluster compat extl2 comp chain snap lazy luks
ROWS='
m1   4k   0.10 off zlib no  yes off off
m2   4k   1.1  off zstd yes no  off off
m3   4k   1.1  off zlib yes yes on  off
m4   64k  0.10 off zlib yes no  off off
m5   64k  1.1  on  zlib yes yes off off
m6   64k  1.1  off zstd no  yes on  off
m7   64k  1.1  on  zstd yes no  on  off
m8   2M   1.1  on  zstd no  yes off off
m9   2M   0.10 off zlib yes yes off off
m10  2M   1.1  off zlib no  no  on  off
l1   4k   0.10 off zlib no  yes off on
l2   2M   1.1  on  zstd no  no  on  on
l3   64k  1.1  on  zlib yes yes off on
'

# check_rows: every allowed pair of axis values is in some row, and no
# row holds an impossible pair.
check_rows() {
    python3 - "$ROWS" <<'EOF'
import itertools, sys
axes = [("cluster", ["4k", "64k", "2M"]), ("compat", ["0.10", "1.1"]),
        ("extl2", ["off", "on"]), ("comp", ["zlib", "zstd"]),
        ("chain", ["no", "yes"]), ("snap", ["no", "yes"]),
        ("lazy", ["off", "on"]), ("luks", ["off", "on"])]
impossible = {(("compat", "0.10"), ("extl2", "on")),
              (("compat", "0.10"), ("comp", "zstd")),
              (("compat", "0.10"), ("lazy", "on")),
              (("cluster", "4k"), ("extl2", "on"))}
rows = [line.split() for line in sys.argv[1].strip().splitlines()]
seen, bad = set(), []
for row in rows:
    vals = [(a, v) for (a, allowed), v in zip(axes, row[1:])]
    if len(row) != 1 + len(axes) or any(
            v not in allowed for (a, allowed), v in zip(axes, row[1:])):
        bad.append("row %s: malformed" % row[0])
        continue
    for p in itertools.combinations(vals, 2):
        seen.add(p)
        if p in impossible:
            bad.append("row %s: impossible pair %s" % (row[0], p))
for (a, av), (b, bv) in itertools.combinations(axes, 2):
    for p in itertools.product([(a, x) for x in av], [(b, y) for y in bv]):
        if p not in seen and p not in impossible:
            bad.append("no row has %s=%s with %s=%s" % (p[0] + p[1]))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
}

# Operations per layer: qemu-io/spindle-io commands (same syntax).
base_ops=('write -P 0x11 0 3M' 'write -P 0x12 4M 2M' 'discard 4M 2M'
          'write -P 0x13 8M 64k')
mid_ops=('write -P 0x21 1M 512k' 'write -z 2M 128k' 'write -P 0x22 12M 4k')
top_ops=('write -P 0x31 64k 4k' 'write -z 8M 32k' 'write -P 0x32 15M 1M')
after_snap_ops=('write -P 0x33 0 8k')

# Per row: luks (on/off) and chain (yes/no) say how to open the images.

# depth LAYER: how many backing files LAYER of $dir has.
depth() {
    case $1 in
    mid) echo 1 ;;
    top) [ "$chain" = yes ] && echo 2 || echo 0 ;;
    *) echo 0 ;;
    esac
}

# open_args LAYER: set oa (options) and on (name) to open LAYER of $dir,
# with every key of its chain for LUKS rows.
open_args() {
    local d pre=
    if [ "$luks" = on ]; then
        oa=(--object "$SEC" --image-opts)
        on="driver=qcow2,file.filename=$dir/$1.qcow2,$KEY"
        for ((d = $(depth "$1"); d > 0; d--)); do
            pre=${pre}backing.
            on="$on,$pre$KEY"
        done
    elif [ "${probe:-}" = yes ]; then
        oa=()
        on=$dir/$1.qcow2
    else
        oa=(-f qcow2)
        on=$dir/$1.qcow2
    fi
}

# probe CMD...: CMD, with open_args naming no format for plain images
# (qemu-img 7.2 snapshot has no -f).
probe() {
    local probe=yes
    "$@"
}

# on_layer LAYER CMD...: run CMD followed by the open arguments of LAYER.
on_layer() {
    open_args "$1"
    shift
    "$@" "${oa[@]}" "$on"
}

# qemu_retry CMD...: QEMU's PBKDF2 calibration can fail under load
# ("Unable to get accurate CPU usage"); try such a command again.
qemu_retry() {
    local try
    for try in 1 2 3; do
        "$@" >"$tmp/retry" 2>&1 && { cat "$tmp/retry"; return 0; }
        grep -q "accurate CPU usage" "$tmp/retry" || break
    done
    cat "$tmp/retry"
    return 1
}

# io TOOL LAYER CMD...: run the commands in one process; all must pass.
io() {
    local tool=$1 layer=$2 args=()
    shift 2
    for c in "$@"; do
        args+=(-c "$c")
    done
    on_layer "$layer" "$tool" "${args[@]}" >"$tmp/io" 2>&1 &&
        ! grep -qiE "fail|error|mismatch" "$tmp/io" || { cat "$tmp/io"; false; }
}

# The expected guest data: every command applied to a raw file, with
# discard as zeroes (a whole-cluster discard reads as zeroes in qcow2).
expected() {
    local args=()
    rm -f "$tmp/want.raw"
    qemu-img create -q -f raw "$tmp/want.raw" $SIZE
    for c in "$@"; do
        args+=(-c "${c/discard/write -z}")
    done
    qemu-io -f raw "${args[@]}" "$tmp/want.raw" >/dev/null
}

# compare_expected TOOL LAYER: TOOL compare says LAYER holds want.raw.
compare_expected() {
    open_args "$2"
    if [ "$luks" = on ]; then
        "$1" compare "${oa[@]}" "$on" "driver=raw,file.filename=$tmp/want.raw"
    else
        "$1" compare -f qcow2 -F raw "$on" "$tmp/want.raw"
    fi
}

# same_json CMD_A -- CMD_B: both print JSON that parses to equal values.
same_json() {
    local a=() b=()
    while [ "$1" != -- ]; do a+=("$1"); shift; done
    shift
    b=("$@")
    "${a[@]}" >"$tmp/a.json" 2>&1 && "${b[@]}" >"$tmp/b.json" 2>&1 &&
        python3 - "$tmp/a.json" "$tmp/b.json" <<'EOF'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
if a != b:
    print("qemu-img:", json.dumps(a, sort_keys=True))
    print("spindle: ", json.dumps(b, sort_keys=True))
    sys.exit(1)
EOF
}

# same_text CMD_A -- CMD_B: same stdout and exit status.
same_text() {
    local a=() ra rb
    while [ "$1" != -- ]; do a+=("$1"); shift; done
    shift
    "${a[@]}" >"$tmp/a.txt" 2>/dev/null; ra=$?
    "$@" >"$tmp/b.txt" 2>/dev/null; rb=$?
    [ $ra -eq $rb ] && diff "$tmp/a.txt" "$tmp/b.txt"
}

# same_on json|text LAYER ARGS...: `qemu-img ARGS` and `spindle-img
# ARGS` on LAYER print equal JSON (same_json) or text (same_text).
same_on() {
    local how=same_$1
    open_args "$2"
    shift 2
    $how qemu-img "$@" "${oa[@]}" "$on" -- "$SIMG" "$@" "${oa[@]}" "$on"
}

# create TOOL OPTS NAME [BACKING]: a 16 MiB image in $dir.
create() {
    local tool=$1 opts=$2 name=$3 back=() obj=()
    [ $# -ge 4 ] && back=(-b "$4.qcow2" -F qcow2)
    [ "$luks" = on ] && obj=(--object "$SEC")
    qemu_retry "$tool" create -q -f qcow2 "${obj[@]}" -o "$opts" "${back[@]}" \
        "$dir/$name.qcow2" $SIZE
}

# make_images SIDE OPTS SNAP: build the images in $dir with one side's
# tools (ours: spindle-*, qemu: qemu-*); prints nothing, fails loudly.
make_images() {
    local side=$1 opts=$2 snap=$3 img io_tool copy_opts=(-c)
    if [ "$side" = ours ]; then
        img=$SIMG io_tool=$SIO
    else
        img=qemu-img io_tool=qemu-io
    fi
    rm -f "$dir"/*.qcow2
    if [ "$chain" = yes ]; then
        create "$img" "$opts" base &&
            io "$io_tool" base "${base_ops[@]}" &&
            create "$img" "$opts" mid base &&
            io "$io_tool" mid "${mid_ops[@]}" &&
            create "$img" "$opts" top mid || return 1
    else
        create "$img" "$opts" top &&
            io "$io_tool" top "${base_ops[@]}" "${mid_ops[@]}" || return 1
    fi
    io "$io_tool" top "${top_ops[@]}" || return 1
    if [ "$snap" = yes ]; then
        probe on_layer top "$img" snapshot -c s1 &&
            io "$io_tool" top "${after_snap_ops[@]}" &&
            probe on_layer top "$img" snapshot -c s2 || return 1
    fi
    # A flattened copy in the same format options: compressed, or for
    # LUKS encrypted (qemu-img cannot do both).
    [ "$luks" = on ] && copy_opts=()
    open_args top
    qemu_retry "$img" convert "${copy_opts[@]}" -O qcow2 -o "$opts" \
        "${oa[@]}" "$on" "$dir/copy.qcow2"
}

# The images each direction checks.
layers() {
    if [ "$chain" = yes ]; then
        echo base mid top copy
    else
        echo top copy
    fi
}

# qemu-img check: exit 0 means no errors and no leaks.
qemu_clean() {
    on_layer "$1" qemu-img check
}

# same_refusal CMD_A -- CMD_B: both fail with the same one-line message
# (after the program name).
same_refusal() {
    local a=() ra rb
    while [ "$1" != -- ]; do a+=("$1"); shift; done
    shift
    "${a[@]}" >"$tmp/a.txt" 2>&1; ra=$?
    "$@" >"$tmp/b.txt" 2>&1; rb=$?
    cat "$tmp/a.txt" "$tmp/b.txt"
    [ $ra -ne 0 ] && [ $ra -eq $rb ] && [ "$(wc -l <"$tmp/b.txt")" -eq 1 ] &&
        [ "$(sed 's/^qemu-img: //' "$tmp/a.txt")" = \
          "$(sed 's/^spindle-img: //' "$tmp/b.txt")" ]
}

# convert_reads: spindle-img convert of top to raw gives want.raw.
convert_reads() {
    open_args top
    "$SIMG" convert -O raw "${oa[@]}" "$on" "$dir/flat.raw" &&
        cmp "$dir/flat.raw" "$tmp/want.raw"
}

run_combo() {
    local name=$1 cluster=$2 compat=$3 extl2=$4 comp=$5 snap=$7
    local lazy=$8 opts side l ops t0=$SECONDS
    chain=$6 luks=$9
    opts="cluster_size=$cluster,compat=$compat"
    if [ "$compat" = 1.1 ]; then
        opts="$opts,extended_l2=$extl2,compression_type=$comp"
        opts="$opts,lazy_refcounts=$lazy"
    fi
    [ "$luks" = on ] && opts="$opts,$LUKS_OPTS"
    ops=("${base_ops[@]}" "${mid_ops[@]}" "${top_ops[@]}")
    [ "$snap" = yes ] && ops+=("${after_snap_ops[@]}")
    expected "${ops[@]}"
    for side in ours qemu; do
        dir=$tmp/$name-$side
        mkdir -p "$dir"
        ok "$name $side: build ($opts, chain=$chain, snapshots=$snap)" \
            make_images $side "$opts" $snap
        for l in $(layers); do
            if [ $side = ours ]; then
                ok "$name ours: qemu-img check $l" qemu_clean $l
            else
                ok "$name qemu: spindle-img check $l" \
                    on_layer $l "$SIMG" check
            fi
        done
        for l in top copy; do
            ok "$name $side: qemu-img compare $l = expected" \
                compare_expected qemu-img $l
            ok "$name $side: spindle-img compare $l = expected" \
                compare_expected "$SIMG" $l
            ok "$name $side: map --output=json $l agrees" \
                same_on json $l map --output=json
        done
        ok "$name $side: spindle-img convert reads the expected data" \
            convert_reads
        ok "$name $side: human map of top agrees" same_on text top map
        ok "$name $side: snapshot -l agrees" probe same_on text top snapshot -l
        ok "$name $side: info --backing-chain --output=json agrees" \
            same_json qemu-img info --backing-chain --output=json \
            "$dir/top.qcow2" -- \
            "$SIMG" info --backing-chain --output=json "$dir/top.qcow2"
        ok "$name $side: human info agrees" \
            same_text qemu-img info "$dir/top.qcow2" -- \
            "$SIMG" info "$dir/top.qcow2"
    done
    if [ "$luks" = on ]; then
        open_args top
        ok "$name: convert -c to an encrypted target refused as by qemu-img" \
            same_refusal qemu-img convert -c -O qcow2 -o "$opts" \
            "${oa[@]}" "$on" "$tmp/refused.qcow2" -- \
            "$SIMG" convert -c -O qcow2 -o "$opts" \
            "${oa[@]}" "$on" "$tmp/refused.qcow2"
    fi
    echo "# $name: $((SECONDS - t0)) s"
}

ok "the rows cover every allowed pair of axis values" check_rows
mapfile -t rows <<<"$ROWS"
for row in "${rows[@]}"; do
    [ -n "$row" ] && run_combo $row
done
finish
