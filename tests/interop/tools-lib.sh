# Sourced by the tools-*.sh interop scripts: TAP helpers and tool paths.
#   tools-X.sh INTEROP_BUILD_DIR TOOLS_BUILD_DIR
# SPDX-License-Identifier: LGPL-2.1-or-later
tools=${2:-../../tools}
SIO=$tools/spindle-io/spindle-io
SIMG=$tools/spindle-img/spindle-img
n=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/spindle-tools-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ok DESCRIPTION COMMAND...: run COMMAND, report its status as one test.
ok() {
    local desc=$1; shift
    n=$((n + 1))
    if "$@" >"$tmp/out" 2>&1; then
        echo "ok $n - $desc"
    else
        echo "not ok $n - $desc"
        sed 's/^/# /' "$tmp/out"
        failed=1
    fi
}

# keep COMMAND...: run COMMAND, keeping its output in $tmp/kept for
# later checks.
keep() {
    "$@" >"$tmp/kept" 2>&1
    local r=$?
    cat "$tmp/kept"
    return $r
}

# need_peer PROGRAM...: skip the whole script when one is missing.
need_peer() {
    for p in "$@"; do
        command -v "$p" >/dev/null 2>&1 ||
            { echo "1..0 # SKIP $p is not installed"; exit 0; }
    done
    [ -x "$SIO" ] && [ -x "$SIMG" ] ||
        { echo "1..0 # SKIP the tools were not built"; exit 0; }
}

# status_is N COMMAND...: COMMAND exits with status N.
status_is() {
    local want=$1; shift
    "$@"
    [ $? -eq "$want" ]
}

finish() {
    echo "1..$n"
    exit $failed
}

# qemu_io [-r] IMAGE CMD...: every qemu-io command must succeed.
qemu_io() {
    local flags=() args=()
    if [ "$1" = -r ]; then
        flags=(-r)
        shift
    fi
    local img=$1
    shift
    for c in "$@"; do
        args+=(-c "$c")
    done
    qemu-io "${flags[@]}" -f qcow2 "${args[@]}" "$img" >"$tmp/io" 2>&1
    local r=$?
    cat "$tmp/io"
    [ $r -eq 0 ] && ! grep -qiE "fail|error|mismatch" "$tmp/io"
}
