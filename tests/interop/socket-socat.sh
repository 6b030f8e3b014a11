#!/bin/bash
# Interop: Spindle's socket channels against socat, over TCP (IPv4, and
# IPv6 where the host has it), UNIX paths and abstract UNIX names, in both
# directions: socat connects to our listener (which echoes), and we connect
# to a socat listener (which echoes through cat).  Each case pushes 1 MiB
# of random bytes through the echo and compares the result with cmp.
#
#   socket-socat.sh BUILD_DIR     (the folder holding socket-peer)
#
# Prints TAP.  Without socat (or socket-peer) it skips.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

bld=${1:-.}
peer=$bld/socket-peer

if ! command -v socat >/dev/null 2>&1; then
    echo "1..0 # SKIP socat is not installed"
    exit 0
fi
if [ ! -x "$peer" ]; then
    echo "1..0 # SKIP $peer was not built"
    exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/spindle-socat-XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

head -c 1048576 /dev/urandom > "$tmp/in"

have_ipv6=no
"$peer" listen '[::1]:0' > "$tmp/v6probe" 2>/dev/null &
probe=$!
for _ in $(seq 50); do
    [ -s "$tmp/v6probe" ] && break
    kill -0 "$probe" 2>/dev/null || break
    sleep 0.1
done
[ -s "$tmp/v6probe" ] && have_ipv6=yes
kill "$probe" 2>/dev/null
wait "$probe" 2>/dev/null

n=0
failed=0
echo "1..10"

ok() {
    n=$((n + 1))
    echo "ok $n $1"
}

not_ok() {
    n=$((n + 1))
    failed=1
    echo "not ok $n $1"
    for f in "$tmp"/*.err; do
        [ -s "$f" ] && sed "s|^|# $(basename "$f"): |" "$f"
    done
}

skip() {
    n=$((n + 1))
    echo "ok $n $1 # SKIP $2"
}

# Wait (up to 10 s) until file $1 is non-empty; false on timeout.
wait_for_line() {
    for _ in $(seq 100); do
        [ -s "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

# Wait (up to 10 s) until a TCP port accepts connections.
wait_for_tcp() {
    local host=$1 port=$2
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# Wait (up to 10 s) until the UNIX socket $1 accepts connections: the
# file appears at bind(), a moment before socat calls listen().
wait_for_socket() {
    for _ in $(seq 100); do
        if [ -S "$1" ] && socat -u /dev/null "UNIX-CONNECT:$1" 2>/dev/null
        then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# check NAME: compare $tmp/out with $tmp/in and report.
check() {
    if cmp -s "$tmp/in" "$tmp/out"; then
        ok "$1"
    else
        not_ok "$1 (echoed data differs: $(wc -c < "$tmp/out") bytes back)"
    fi
    rm -f "$tmp/out" "$tmp"/*.err
}

# socat connects to our echoing listener.
#   ours_listen NAME OUR_ADDR SOCAT_ADDR_PREFIX
# SOCAT_ADDR_PREFIX gets the port appended for TCP (ends in ':'), or is
# used as is.
ours_listen() {
    local name=$1 ours=$2 theirs=$3 addr port
    rm -f "$tmp/addr"
    "$peer" listen "$ours" > "$tmp/addr" 2> "$tmp/peer.err" &
    local lp=$!
    pids+=("$lp")
    if ! wait_for_line "$tmp/addr"; then
        not_ok "$name (our listener did not start)"
        return
    fi
    addr=$(head -n 1 "$tmp/addr")
    port=${addr##*:}
    case $theirs in
    *:) theirs=$theirs$port ;;
    esac
    timeout 60 socat -t 30 - "$theirs" < "$tmp/in" > "$tmp/out" \
        2> "$tmp/socat.err"
    if ! wait "$lp"; then
        not_ok "$name (our listener failed)"
        return
    fi
    check "$name"
}

# We connect to a socat listener that echoes through cat.
#   ours_connect NAME SOCAT_LISTEN_ADDR OUR_ADDR READY_CHECK...
ours_connect() {
    local name=$1 theirs=$2 ours=$3
    shift 3
    socat -t 30 "$theirs" EXEC:cat 2> "$tmp/socat.err" &
    local sp=$!
    pids+=("$sp")
    if ! "$@"; then
        not_ok "$name (socat did not start listening)"
        return
    fi
    timeout 60 "$peer" connect "$ours" < "$tmp/in" > "$tmp/out" \
        2> "$tmp/peer.err"
    local rc=$?
    kill "$sp" 2>/dev/null
    wait "$sp" 2>/dev/null
    if [ $rc -ne 0 ]; then
        not_ok "$name (socket-peer connect failed: $rc)"
        return
    fi
    check "$name"
}

# --- TCP over IPv4 -----------------------------------------------------------
ours_listen "socat TCP4 client -> our listener" "127.0.0.1:0" \
    "TCP4:127.0.0.1:"

port=$("$peer" free-port)
ours_connect "our client -> socat TCP4 listener" \
    "TCP4-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "127.0.0.1:$port" \
    wait_for_tcp 127.0.0.1 "$port"

# Dual-stack: an empty host listens on every address.
ours_listen "socat TCP4 client -> our ':0' listener" ":0" \
    "TCP4:127.0.0.1:"

# --- TCP over IPv6 -----------------------------------------------------------
if [ "$have_ipv6" = yes ]; then
    ours_listen "socat TCP6 client -> our [::1] listener" "[::1]:0" \
        "TCP6:[::1]:"
    port=$("$peer" free-port)
    ours_connect "our client -> socat TCP6 listener" \
        "TCP6-LISTEN:$port,bind=[::1],reuseaddr,fork" "[::1]:$port" \
        wait_for_tcp ::1 "$port"
else
    skip "socat TCP6 client -> our [::1] listener" "no IPv6 loopback"
    skip "our client -> socat TCP6 listener" "no IPv6 loopback"
fi

# --- UNIX sockets in the file system -----------------------------------------
sock=$tmp/ours.sock
ours_listen "socat UNIX client -> our listener" "unix:$sock" \
    "UNIX-CONNECT:$sock"
if [ -e "$sock" ]; then
    not_ok "our listener removes its socket file"
else
    ok "our listener removes its socket file"
fi

sock=$tmp/theirs.sock
ours_connect "our client -> socat UNIX listener" \
    "UNIX-LISTEN:$sock,fork" "unix:$sock" wait_for_socket "$sock"

# --- UNIX sockets in the abstract namespace ----------------------------------
abs=spindle-socat-$$
ours_listen "socat ABSTRACT client -> our listener" "unix:@$abs-a" \
    "ABSTRACT-CONNECT:$abs-a"

# An abstract name has no file to wait for: retry until socat is up.
abstract_up() {
    for _ in $(seq 100); do
        if socat -u /dev/null "ABSTRACT-CONNECT:$abs-b" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}
ours_connect "our client -> socat ABSTRACT listener" \
    "ABSTRACT-LISTEN:$abs-b,fork" "unix:@$abs-b" abstract_up

exit $failed
