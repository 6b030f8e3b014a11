#!/bin/sh
# `make run`: a short tour of the tools on built-in defaults (< 10 s).
#   tour.sh BUILD_DIR
set -eu
b=${1:-build}
img=$b/tools/spindle-img/spindle-img
io=$b/tools/spindle-io/spindle-io
tmp=$(mktemp -d "${TMPDIR:-/tmp}/spindle-tour-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
set -x
$img bench -c 100000 -d 64 null-co://
$img create -f raw "$tmp/disk.raw" 64M
$io -f raw -c "write -P 0x5a 0 64k" -c "write -P 0xa5 1M 4k" \
    -c "read -P 0x5a 0 64k" -c "read -P 0xa5 1M 4k" "$tmp/disk.raw"
$img info "$tmp/disk.raw"
$img map -f raw "$tmp/disk.raw"
