#!/bin/sh
# Sum meson's JSON test logs into "N passed, N failed".  A test counts as
# passed when meson reports OK, EXPECTEDFAIL or SKIP; anything else fails.
passed=0
failed=0
for log in "$@"; do
    [ -f "$log" ] || { failed=$((failed + 1)); continue; }
    p=$(grep -c '"result": "\(OK\|EXPECTEDFAIL\|SKIP\)"' "$log")
    t=$(grep -c '"result":' "$log")
    passed=$((passed + p))
    failed=$((failed + t - p))
done
echo "$passed passed, $failed failed"
