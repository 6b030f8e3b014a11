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

# ---- spindle-img against qemu-img ------------------------------------

# same_status CMD-ARGS...: spindle-img and qemu-img exit alike, and
# spindle-img prints exactly one line on stderr.
same_status() {
    local ours theirs
    $SIMG "$@" >/dev/null 2>"$tmp/err"; ours=$?
    qemu-img "$@" >/dev/null 2>&1; theirs=$?
    [ "$ours" -eq "$theirs" ] && [ "$ours" -ne 0 ] &&
        [ "$(wc -l <"$tmp/err")" -eq 1 ] ||
        { echo "ours $ours, qemu-img $theirs"; cat "$tmp/err"; return 1; }
}

# same_error CMD-ARGS...: as same_status, and the message is qemu-img's
# (its "Try ... --help" line and probing warnings aside).
same_error() {
    same_status "$@" || return 1
    qemu-img "$@" 2>&1 >/dev/null | grep '^qemu-img: ' | head -1 |
        sed 's/^qemu-img: //' >"$tmp/qerr"
    sed 's/^spindle-img: //' "$tmp/err" | diff - "$tmp/qerr"
}

# same_output CMD-ARGS...: the same output (stdout and stderr) and exit
# status.
same_output() {
    diff <($SIMG "$@" 2>&1; echo "rc=$?") <(qemu-img "$@" 2>&1; echo "rc=$?")
}

# json_equal OURS QEMU: the two JSON files hold equal values.
json_equal() {
    /usr/bin/python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
print("ours:", a, "qemu:", b) if a != b else None
sys.exit(a != b)' "$1" "$2"
}
