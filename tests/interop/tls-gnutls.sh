#!/bin/bash
# Interop: our TLS channel (tests/interop/tls-peer) against GnuTLS's own
# gnutls-serv and gnutls-cli, in both directions, with X.509 certificates
# made by certtool at run time (with and without client certificates)
# and with PSK.  Every peer verifies certificates (no --insecure); data
# must come back byte-exact.  Loopback only.  Prints TAP.
#
#   tls-gnutls.sh BUILD_DIR      (the folder holding tls-peer)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

bld=${1:?usage: tls-gnutls.sh BUILD_DIR}
peer=$bld/tls-peer

for tool in certtool gnutls-serv gnutls-cli ss timeout base64; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "1..0 # SKIP $tool is not installed"
        exit 0
    fi
done
if [ ! -x "$peer" ]; then
    echo "1..0 # SKIP $peer is not built"
    exit 0
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

# ---- TAP -----------------------------------------------------------------

n=0
failed=0
ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}
not_ok() {
    n=$((n + 1))
    failed=1
    echo "not ok $n - $1"
    shift
    for f in "$@"; do
        [ -f "$f" ] && sed 's/^/# /' "$f" | tail -n 20
    done
}
# check DESCRIPTION COMMAND...: ok when COMMAND succeeds.
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what" "${logs[@]}"; fi
}

# ---- certificates --------------------------------------------------------

pki=$tmp/pki
mkdir -p "$pki"

# cert NAME ISSUER TEMPLATE: NAME-key.pem and NAME-cert.pem; ISSUER is a
# previous NAME, or "self".
cert() {
    local name=$1 issuer=$2
    printf '%b' "$3" > "$pki/$name.tmpl"
    certtool --generate-privkey --key-type=ecdsa \
        --outfile "$pki/$name-key.pem" >/dev/null 2>&1 || return 1
    if [ "$issuer" = self ]; then
        certtool --generate-self-signed --load-privkey "$pki/$name-key.pem" \
            --template "$pki/$name.tmpl" --outfile "$pki/$name-cert.pem" \
            >/dev/null 2>&1
    else
        certtool --generate-certificate --load-privkey "$pki/$name-key.pem" \
            --load-ca-certificate "$pki/$issuer-cert.pem" \
            --load-ca-privkey "$pki/$issuer-key.pem" \
            --template "$pki/$name.tmpl" --outfile "$pki/$name-cert.pem" \
            >/dev/null 2>&1
    fi
}

ca_tmpl='cn = "Spindle Interop CA"\nca\ncert_signing_key\n'
ca_tmpl+='expiration_days = 30\n'
leaf='signing_key\nencryption_key\n'
srv_tmpl='cn = "localhost"\ndns_name = "localhost"\n'
srv_tmpl+='ip_address = "127.0.0.1"\ntls_www_server\n'"$leaf"
srv_tmpl+='expiration_days = 30\n'
cli_tmpl='cn = "spindle-interop-client"\ntls_www_client\n'"$leaf"
cli_tmpl+='expiration_days = 30\n'
old_tmpl='cn = "localhost"\ndns_name = "localhost"\ntls_www_server\n'"$leaf"
old_tmpl+='activation_date = "2001-01-01 00:00:00"\n'
old_tmpl+='expiration_date = "2002-01-01 00:00:00"\n'

if ! { cert ca self "$ca_tmpl" && cert rogue self "$ca_tmpl" &&
       cert server ca "$srv_tmpl" && cert client ca "$cli_tmpl" &&
       cert expired ca "$old_tmpl" && cert rogue-server rogue "$srv_tmpl"; }
then
    echo "1..0 # SKIP certtool could not make the test certificates"
    exit 0
fi

# creds DIR FILE=SOURCE...: a credentials directory for tls-peer.
creds() {
    local dir=$tmp/$1
    shift
    mkdir -p "$dir"
    for pair in "$@"; do
        cp "$pki/${pair#*=}" "$dir/${pair%%=*}"
    done
}
creds srv ca-cert.pem=ca-cert.pem server-cert.pem=server-cert.pem \
    server-key.pem=server-key.pem
creds srv-rogue ca-cert.pem=rogue-cert.pem \
    server-cert.pem=rogue-server-cert.pem server-key.pem=rogue-server-key.pem
creds cli ca-cert.pem=ca-cert.pem client-cert.pem=client-cert.pem \
    client-key.pem=client-key.pem
creds cli-bare ca-cert.pem=ca-cert.pem

pskkey=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
wrongkey=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
mkdir -p "$tmp/psk"
echo "alice:$pskkey" > "$tmp/psk/keys.psk"
psk_prio='NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK'

# gnutls-serv's echo mode treats input as text lines, so it gets text;
# our own server gets arbitrary bytes.
head -c 196608 /dev/urandom | base64 > "$tmp/text.in"
head -c 1048576 /dev/urandom > "$tmp/bin.in"

# ---- starting servers ----------------------------------------------------

# gnutls_serv ARGS...: start an echo gnutls-serv on a free port; sets
# serv_pid and serv_port.  gnutls-serv cannot pick a port itself, so try
# random ones until it listens.
gnutls_serv() {
    local try
    for try in 1 2 3 4 5 6 7 8; do
        serv_port=$((20000 + RANDOM % 40000))
        gnutls-serv --echo --crlf --quiet --port "$serv_port" "$@" \
            >"$tmp/serv.log" 2>&1 &
        serv_pid=$!
        pids+=("$serv_pid")
        for _ in $(seq 50); do
            if ss -Hltn "sport = :$serv_port" | grep -q .; then
                return 0
            fi
            kill -0 "$serv_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill "$serv_pid" 2>/dev/null
        wait "$serv_pid" 2>/dev/null
    done
    return 1
}

stop_serv() {
    kill "$serv_pid" 2>/dev/null
    wait "$serv_pid" 2>/dev/null
}

# peer_serve ARGS...: start "tls-peer serve" on a free loopback port; sets
# serv_pid and serv_port.
peer_serve() {
    : > "$tmp/port.out"
    timeout 60 "$peer" serve "$@" >"$tmp/port.out" 2>"$tmp/serve.err" &
    serv_pid=$!
    pids+=("$serv_pid")
    for _ in $(seq 50); do
        serv_port=$(awk '/^port /{print $2}' "$tmp/port.out")
        [ -n "$serv_port" ] && return 0
        kill -0 "$serv_pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# peer_serve_result: wait for "tls-peer serve" and return its status.
peer_serve_result() {
    wait "$serv_pid"
}

# served DESCRIPTION PEER-ARGS... -- CHECK...: start "tls-peer serve"
# with PEER-ARGS, then run the check; one TAP line either way.
served() {
    local what=$1 args=()
    shift
    while [ "$1" != -- ]; do
        args+=("$1")
        shift
    done
    shift
    if peer_serve "${args[@]}"; then
        check "$what" "$@"
    else
        not_ok "$what: tls-peer serve did not start" "$tmp/serve.err"
    fi
}

# ---- the tests -----------------------------------------------------------

echo "1..14"

# tls-peer connect TO gnutls-serv, expecting success and an exact echo.
connect_echo() {
    timeout 30 "$peer" connect "$@" <"$tmp/text.in" >"$tmp/out" \
        2>"$tmp/client.err" && cmp -s "$tmp/text.in" "$tmp/out"
}

# tls-peer connect expected to fail with a message matching $1.
connect_fails() {
    local pattern=$1
    shift
    ! timeout 30 "$peer" connect "$@" <"$tmp/text.in" >"$tmp/out" \
        2>"$tmp/client.err" && grep -q -- "$pattern" "$tmp/client.err"
}

logs=("$tmp/client.err" "$tmp/serv.log")
srv_x509=(--x509certfile "$pki/server-cert.pem"
          --x509keyfile "$pki/server-key.pem")

if gnutls_serv "${srv_x509[@]}"; then
    check "x509: tls-peer client -> gnutls-serv, verified, echo exact" \
        connect_echo "localhost:$serv_port" --creds "$tmp/cli-bare"
    check "x509: hostname mismatch is refused by tls-peer" \
        connect_fails "does not match hostname 'wrong.example'" \
        "127.0.0.1:$serv_port" --creds "$tmp/cli-bare" \
        --hostname wrong.example
    stop_serv
else
    not_ok "x509: gnutls-serv did not start" "$tmp/serv.log"
    not_ok "x509: hostname mismatch (no server)"
fi

if gnutls_serv "${srv_x509[@]}" --require-client-cert --verify-client-cert \
        --x509cafile "$pki/ca-cert.pem"; then
    check "x509: client certificate accepted by gnutls-serv, echo exact" \
        connect_echo "localhost:$serv_port" --creds "$tmp/cli"
    check "x509: gnutls-serv requiring a client cert refuses us without" \
        connect_fails "TLS" "localhost:$serv_port" --creds "$tmp/cli-bare"
    stop_serv
else
    not_ok "x509: gnutls-serv (client certs) did not start" "$tmp/serv.log"
    not_ok "x509: client certificate required (no server)"
fi

if gnutls_serv --x509certfile "$pki/rogue-server-cert.pem" \
        --x509keyfile "$pki/rogue-server-key.pem"; then
    check "x509: server from an untrusted CA is refused by tls-peer" \
        connect_fails "not signed by a trusted CA" "localhost:$serv_port" \
        --creds "$tmp/cli-bare"
    stop_serv
else
    not_ok "x509: gnutls-serv (untrusted) did not start" "$tmp/serv.log"
fi

if gnutls_serv --x509certfile "$pki/expired-cert.pem" \
        --x509keyfile "$pki/expired-key.pem"; then
    check "x509: expired server certificate is refused by tls-peer" \
        connect_fails "it has expired" "localhost:$serv_port" \
        --creds "$tmp/cli-bare"
    stop_serv
else
    not_ok "x509: gnutls-serv (expired) did not start" "$tmp/serv.log"
fi

# gnutls-cli TO tls-peer serve.  $1: input file; rest: gnutls-cli args.
cli_echo() {
    local input=$1
    shift
    timeout 30 gnutls-cli --logfile "$tmp/cli.log" -p "$serv_port" "$@" \
        <"$input" >"$tmp/out" 2>"$tmp/cli.err" &&
        peer_serve_result && cmp -s "$input" "$tmp/out" &&
        [ ! -s "$tmp/serve.err" ]
}

# gnutls-cli expected to fail; tls-peer serve must fail too.
cli_fails() {
    ! timeout 30 gnutls-cli --logfile "$tmp/cli.log" -p "$serv_port" "$@" \
        <"$tmp/text.in" >"$tmp/out" 2>"$tmp/cli.err" &&
        ! peer_serve_result
}

logs=("$tmp/serve.err" "$tmp/cli.err" "$tmp/cli.log")

served "x509: gnutls-cli -> tls-peer server, verified, 1 MiB echo exact" \
    --creds "$tmp/srv" -- \
    cli_echo "$tmp/bin.in" --x509cafile "$pki/ca-cert.pem" localhost

served "x509: gnutls-cli with client certificate -> tls-peer --verify-peer" \
    --creds "$tmp/srv" --verify-peer -- \
    cli_echo "$tmp/bin.in" --x509cafile "$pki/ca-cert.pem" \
    --x509certfile "$pki/client-cert.pem" \
    --x509keyfile "$pki/client-key.pem" localhost

served "x509: tls-peer --verify-peer refuses gnutls-cli without a cert" \
    --creds "$tmp/srv" --verify-peer -- \
    cli_fails --x509cafile "$pki/ca-cert.pem" localhost

served "x509: gnutls-cli refuses tls-peer's untrusted certificate" \
    --creds "$tmp/srv-rogue" -- \
    cli_fails --x509cafile "$pki/ca-cert.pem" localhost

logs=("$tmp/client.err" "$tmp/serv.log")
if gnutls_serv --pskpasswd "$tmp/psk/keys.psk" --priority "$psk_prio"; then
    check "psk: tls-peer client -> gnutls-serv, echo exact" \
        connect_echo "127.0.0.1:$serv_port" --psk --username alice \
        --creds "$tmp/psk"
    stop_serv
else
    not_ok "psk: gnutls-serv did not start" "$tmp/serv.log"
fi

logs=("$tmp/serve.err" "$tmp/cli.err" "$tmp/cli.log")
served "psk: gnutls-cli -> tls-peer server, 1 MiB echo exact" \
    --psk --creds "$tmp/psk" -- \
    cli_echo "$tmp/bin.in" --priority "$psk_prio" --pskusername alice \
    --pskkey "$pskkey" 127.0.0.1

served "psk: tls-peer server refuses gnutls-cli with the wrong key" \
    --psk --creds "$tmp/psk" -- \
    cli_fails --priority "$psk_prio" --pskusername alice \
    --pskkey "$wrongkey" 127.0.0.1

# The expected failures above must have said why.
if grep -q "TLS handshake failed" "$tmp/serve.err"; then
    ok "psk: the refusal names the failed handshake"
else
    not_ok "psk: the refusal names the failed handshake" "$tmp/serve.err"
fi

exit $failed
