#!/bin/sh
# Sum meson's JSON test logs into "N passed, N failed".  A test counts as
# passed when meson reports OK, EXPECTEDFAIL or SKIP; anything else fails.
# With SPINDLE_REQUIRE_PEERS=1 (CI, where make check installs every peer),
# a skipped interop test counts as failed: a missing peer must not pass.
passed=0
failed=0
for log in "$@"; do
    [ -f "$log" ] || { failed=$((failed + 1)); continue; }
    p=$(grep -c '"result": "\(OK\|EXPECTEDFAIL\|SKIP\)"' "$log")
    t=$(grep -c '"result":' "$log")
    if [ "${SPINDLE_REQUIRE_PEERS:-0}" = 1 ]; then
        s=$(grep '"result": "SKIP"' "$log" | grep -c '"name": "[^"]*:interop')
        if [ "$s" -gt 0 ]; then
            grep '"result": "SKIP"' "$log" | grep '"name": "[^"]*:interop' |
                sed 's/.*"name": "\([^"]*\)".*/skipped interop test (peer missing): \1/' >&2
        fi
        p=$((p - s))
    fi
    passed=$((passed + p))
    failed=$((failed + t - p))
done
echo "$passed passed, $failed failed"
