#!/bin/sh
# Compile every public header on its own (include it alone in an empty
# translation unit) so none depends on a prelude.  Prints TAP.
#   check-headers.sh SOURCE_ROOT BUILD_ROOT CC [CFLAGS...]
set -u
src=$1; bld=$2; cc=$3; shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0; failed=0
headers=$(cd "$src/include" && find . -name '*.h' | sed 's|^\./||' | sort)
echo "1..$(echo "$headers" | wc -l)"
for h in $headers; do
    n=$((n + 1))
    printf '#include "%s"\n#include "%s"\n' "$h" "$h" > "$tmp/t.c"
    if "$cc" "$@" -D_GNU_SOURCE -I"$src/include" -I"$bld" -fsyntax-only \
            -Wall -Werror -Wno-unused-function "$tmp/t.c" 2>"$tmp/err"; then
        echo "ok $n $h"
    else
        echo "not ok $n $h"
        sed 's/^/# /' "$tmp/err"
        failed=1
    fi
done
exit $failed
