#!/bin/sh
# Build and run the test suites, then print one line "N passed, N failed".
#   run-tests.sh PLAIN_DIR [ASAN_DIR] [TSAN_DIR] [FUZZ_DIR]
# PLAIN_DIR runs the unit and interop suites; ASAN_DIR (AddressSanitizer + UBSan) runs the
# unit suite; TSAN_DIR (ThreadSanitizer) runs the multithreaded suite;
# FUZZ_DIR (clang, libFuzzer + ASan) runs each fuzz target for a bounded
# time (SPINDLE_FUZZ_SECONDS, default 60).
# An empty directory name skips that configuration.
set -u
here=$(cd "$(dirname "$0")" && pwd)
plain=${1:-build}
asan=${2-}
tsan=${3-}
fuzz=${4-}
status=0
logs=""

# setup DIR [meson options...]: configure DIR once.
setup() {
    dir=$1; shift
    [ -f "$dir/build.ninja" ] || meson setup "$dir" "$@" >/dev/null || return 1
}

# run DIR SUITE...: build and test; remember the JSON log for the summary.
run() {
    dir=$1; shift
    echo "== $dir: suites $*"
    ninja -C "$dir" >"$dir/ninja.log" 2>&1 ||
        { cat "$dir/ninja.log"; echo "build failed in $dir"; status=1; return; }
    suites=""
    for s in "$@"; do suites="$suites --suite $s"; done
    meson test -C "$dir" $suites --print-errorlogs \
        --num-processes 2 || status=1
    logs="$logs $dir/meson-logs/testlog.json"
}

setup "$plain" && run "$plain" unit interop || status=1
if [ -n "$asan" ]; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    setup "$asan" -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args=-fno-sanitize-recover=all && run "$asan" unit || status=1
fi
if [ -n "$tsan" ]; then
    export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$here/tsan.supp"
    setup "$tsan" -Db_sanitize=thread -Db_lundef=false && run "$tsan" mt ||
        status=1
fi

if [ -n "$fuzz" ]; then
    echo "== $fuzz: fuzz targets"
    "$here/run-fuzz.sh" "$fuzz" || status=1
    logs="$logs $fuzz/fuzz-results.json"
fi

summary=$("$here/test-summary.sh" $logs)
echo "$summary"
case "$summary" in
    *" 0 failed") ;;
    *) status=1 ;;
esac
exit $status
