#!/bin/sh
# Interop: Python's websockets library (Debian python3-websockets) as the
# client of ws-peer, our WebSocket echo server on QIOChannelWebsock.
#
#   websock-python.sh BUILD_DIR      (BUILD_DIR holds ws-peer)
#
# Checks, byte-exact: binary messages of 1 B, 125 B, 126 B, 65535 B,
# 65536 B and 1 MiB echoed back; ping/pong; a fragmented message; a text
# message (echoed as bytes); the "binary" subprotocol and no subprotocol;
# two clients at once; a clean close (1000); a UNIX-socket listener.  Bad
# input from a raw socket: an unmasked frame gets close 1002, a frame past
# the size limit close 1009, malformed handshakes HTTP 400, a wrong
# version HTTP 426.  Prints TAP; skips when a peer is missing.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

bld=${1:?usage: websock-python.sh BUILD_DIR}
peer=$bld/ws-peer
# Debian's interpreter: the python3 first on PATH may not see its modules.
py=/usr/bin/python3

if [ ! -x "$peer" ]; then
    echo "1..0 # SKIP ws-peer is not built in $bld"
    exit 0
fi
if [ ! -x "$py" ] || ! "$py" -c 'import websockets' 2>/dev/null; then
    echo "1..0 # SKIP python3-websockets is not installed"
    exit 0
fi

tmp=$(mktemp -d)
tcp_pid=
unix_pid=
cleanup() {
    for p in $tcp_pid $unix_pid; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

# Start ws-peer with "$@"; wait until it prints its address line.
start_peer() {
    name=$1
    shift
    "$peer" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    last_pid=$!
    i=0
    while ! grep -q '^\(port\|unix\) ' "$tmp/$name.out" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$last_pid" 2>/dev/null; then
            echo "Bail out! ws-peer did not start: $(cat "$tmp/$name.err")"
            exit 1
        fi
        sleep 0.1
    done
}

start_peer tcp --port 0
tcp_pid=$last_pid
port=$(sed -n 's/^port //p' "$tmp/tcp.out")
start_peer unix --unix "$tmp/ws.sock" --clients 1
unix_pid=$last_pid

"$py" - "$port" "$tmp/ws.sock" >"$tmp/tap" 2>"$tmp/py.err" <<'EOF'
import asyncio
import socket
import struct
import sys

import websockets

PORT = int(sys.argv[1])
UNIX_PATH = sys.argv[2]
URI = "ws://127.0.0.1:%d/" % PORT
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
n = 0


def report(ok, name, detail=""):
    global n
    n += 1
    line = "%s %d - %s" % ("ok" if ok else "not ok", n, name)
    print(line)
    if not ok and detail:
        for d in str(detail).splitlines():
            print("# " + d)
    sys.stdout.flush()


def pattern(size, seed):
    return bytes((i * 31 + seed + (i >> 8)) & 0xFF for i in range(size))


async def recv_bytes(ws, size):
    """The server keeps no message boundaries: gather @size bytes."""
    got = b""
    while len(got) < size:
        msg = await asyncio.wait_for(ws.recv(), 30)
        got += msg if isinstance(msg, bytes) else msg.encode()
    return got


async def echo_check(ws, data):
    await ws.send(data)
    return await recv_bytes(ws, len(data)) == data


async def library_tests():
    async with websockets.connect(URI, subprotocols=["binary"],
                                  max_size=None) as ws:
        report(ws.subprotocol == "binary", "subprotocol binary accepted")
        for size in (1, 125, 126, 65535, 65536, 1 << 20):
            ok = await echo_check(ws, pattern(size, size))
            report(ok, "echo of %d bytes" % size)
        waiter = await ws.ping(b"spindle")
        try:
            await asyncio.wait_for(waiter, 10)
            report(True, "ping answered by a pong with the same payload")
        except Exception as e:
            report(False, "ping answered by a pong", e)
        await ws.send([b"frag", b"mented ", b"message"])
        got = await recv_bytes(ws, 18)
        report(got == b"fragmented message", "fragmented message echoed")
        await ws.send("text \u00e9")
        got = await recv_bytes(ws, 7)
        report(got == "text \u00e9".encode(), "text frame echoed as bytes")
    report(ws.close_code == 1000, "clean close with status 1000",
           "close code %s" % ws.close_code)

    async with websockets.connect(URI, max_size=None) as ws:
        ok = ws.subprotocol is None and await echo_check(ws, b"plain")
        report(ok, "request without subprotocol accepted")

    async def one_client(seed):
        async with websockets.connect(URI, max_size=None) as ws:
            return await echo_check(ws, pattern(256 * 1024, seed))
    results = await asyncio.gather(one_client(1), one_client(2))
    report(all(results), "two clients at once")

    async with websockets.unix_connect(UNIX_PATH, "ws://localhost/",
                                       max_size=None) as ws:
        ok = await echo_check(ws, pattern(70000, 3))
        report(ok, "echo over a UNIX socket")


def raw_connect(request=None):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=30)
    if request is None:
        request = ("GET / HTTP/1.1\r\nHost: localhost\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n" % KEY)
    s.sendall(request.encode())
    return s


def read_http(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(1)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


def read_exact(s, size):
    data = b""
    while len(data) < size:
        chunk = s.recv(size - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data


def read_close_code(s):
    """Read frames until a close frame; return its status code."""
    while True:
        b0, b1 = read_exact(s, 2)
        size = b1 & 0x7F
        if size == 126:
            size = struct.unpack(">H", read_exact(s, 2))[0]
        elif size == 127:
            size = struct.unpack(">Q", read_exact(s, 8))[0]
        payload = read_exact(s, size)
        if b0 & 0x0F == 0x8:
            return struct.unpack(">H", payload[:2])[0] if size >= 2 else None


def raw_frame_test(name, frame, want_code):
    try:
        s = raw_connect()
        status = read_http(s).split("\r\n")[0]
        s.sendall(frame)
        code = read_close_code(s)
        s.close()
        report(status.startswith("HTTP/1.1 101") and code == want_code,
               name, "status %r, close code %r" % (status, code))
    except Exception as e:
        report(False, name, repr(e))


def raw_handshake_test(name, request, want, want_line=None):
    try:
        s = raw_connect(request)
        resp = read_http(s)
        s.close()
        ok = resp.startswith("HTTP/1.1 %s" % want)
        if want_line:
            ok = ok and ("\r\n%s\r\n" % want_line) in resp
        report(ok, name, resp)
    except Exception as e:
        report(False, name, repr(e))


def raw_tests():
    raw_frame_test("unmasked frame gets close 1002",
                   b"\x82\x05hello", 1002)
    raw_frame_test("frame past the size limit gets close 1009",
                   b"\x82\xff" + struct.pack(">Q", 17 << 20) + b"MASK",
                   1009)
    raw_frame_test("RSV1 bit gets close 1002",
                   b"\xc2\x80MASK", 1002)
    raw_handshake_test("garbage request gets HTTP 400",
                       "HELLO THERE\r\n\r\n", "400 Bad Request")
    raw_handshake_test("request without key gets HTTP 400",
                       "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n",
                       "400 Bad Request")
    raw_handshake_test("version 8 gets HTTP 426 naming version 13",
                       "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                       "Sec-WebSocket-Version: 8\r\n\r\n" % KEY,
                       "426 Upgrade Required", "Sec-WebSocket-Version: 13")


try:
    asyncio.run(library_tests())
except Exception as e:
    report(False, "websockets client session", repr(e))
raw_tests()
EOF
status=$?

cat "$tmp/tap"
count=$(grep -c '^\(not \)\?ok ' "$tmp/tap")
if [ $status -ne 0 ]; then
    count=$((count + 1))
    echo "not ok $count - python client exited with status $status"
    sed 's/^/# /' "$tmp/py.err"
fi

# The server side saw the same problems, with clear messages.
count=$((count + 1))
if grep -q 'unmasked client frame' "$tmp/tcp.err" &&
   grep -q 'exceeds the limit' "$tmp/tcp.err" &&
   grep -q 'malformed request line' "$tmp/tcp.err"; then
    echo "ok $count - ws-peer reported the bad input"
else
    echo "not ok $count - ws-peer reported the bad input"
    sed 's/^/# /' "$tmp/tcp.err"
fi

count=$((count + 1))
kill -TERM "$tcp_pid"
wait "$tcp_pid"
rc=$?
tcp_pid=
if [ $rc -eq 0 ]; then
    echo "ok $count - ws-peer exited cleanly on SIGTERM"
else
    echo "not ok $count - ws-peer exited with status $rc on SIGTERM"
    sed 's/^/# /' "$tmp/tcp.err"
fi

count=$((count + 1))
wait "$unix_pid"
rc=$?
unix_pid=
if [ $rc -eq 0 ]; then
    echo "ok $count - ws-peer --clients 1 exited after its client"
else
    echo "not ok $count - ws-peer --clients 1 exited with status $rc"
fi
echo "1..$count"
