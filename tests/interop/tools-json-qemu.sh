#!/bin/bash
# Interop: spindle-img info and map --output=json against qemu-img's on
# the same sparse raw image (data, holes, unaligned writes).  Needs the
# file protocol driver.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tools-lib.sh"
need_peer qemu-io qemu-img /usr/bin/python3

img=$tmp/s.raw
same_json() {
    /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
if sys.argv[3] == "info":
    # disk usage may differ by filesystem metadata; compare the keys and
    # every field but actual-size
    ok = set(a) == set(b) and all(a[k] == b[k] for k in a if k != "actual-size")
else:
    ok = a == b
if not ok:
    print("spindle:", a); print("qemu:   ", b)
sys.exit(0 if ok else 1)
PY
}

ok "create a 4 MiB raw image" qemu-img create -f raw "$img" 4M
ok "write extents and leave holes" qemu-io -f raw \
    -c "write -q -P 1 0 4096" -c "write -q -P 2 65536 8192" \
    -c "write -q -P 3 1000000 100" -c "write -q -P 4 4190208 4096" "$img"
for cmd in info map; do
    ok "spindle-img $cmd --output=json" \
        sh -c "$SIMG $cmd -f raw --output=json '$img' >'$tmp/ours.$cmd'"
    ok "qemu-img $cmd --output=json" \
        sh -c "qemu-img $cmd -f raw --output=json '$img' >'$tmp/qemu.$cmd'"
    ok "$cmd JSON matches qemu-img's" \
        same_json "$tmp/ours.$cmd" "$tmp/qemu.$cmd" $cmd
done
ok "human map matches qemu-img's" bash -c \
    "diff <($SIMG map -f raw '$img') <(qemu-img map -f raw '$img')"
# --image-opts: the image is named after its file, as qemu-img names it.
opts="driver=raw,file.driver=file,file.filename=$img"
ok "info --image-opts names the file as qemu-img does" bash -c \
    "diff <($SIMG info --image-opts '$opts' | head -2) \
          <(qemu-img info --image-opts '$opts' | head -2)"
finish
