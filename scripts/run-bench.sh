#!/bin/sh
# Run every benchmark binary of a build directory and print its rows.
#   run-bench.sh BUILD_DIR
# Each binary prints a heading line and one row per benchmark; this script
# adds nothing but a closing line, and fails if any binary fails.
set -u
build=${1:-build-bench}
status=0
found=0
model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
echo "# machine: $(nproc) CPUs, ${model:-unknown CPU}, $(uname -sr)"
for exe in "$build"/bench/bench-*; do
    [ -f "$exe" ] && [ -x "$exe" ] || continue
    found=1
    "$exe" || { echo "error: $exe exited with status $?" >&2; status=1; }
done
if [ "$found" = 0 ]; then
    echo "error: no benchmark binaries in $build/bench" \
         "(configure with -Dbench=true)" >&2
    exit 1
fi
# Script benchmarks that drive whole tools against their peers.
for script in "$(dirname "$0")"/../bench/bench-*.sh; do
    [ -x "$script" ] || continue
    "$script" "$build" || { echo "error: $script failed" >&2; status=1; }
done
echo "# done; ratio = peer / spindle, above 1 means spindle is faster"
exit $status
