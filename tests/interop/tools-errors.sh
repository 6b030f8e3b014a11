#!/bin/bash
# Bad input to spindle-img and spindle-io: one-line error, non-zero exit.
# Runs without any peer.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/tools-lib.sh"
[ -x "$SIMG" ] && [ -x "$SIO" ] ||
    { echo "1..0 # SKIP the tools were not built"; exit 0; }

# fails_one_line COMMAND...: non-zero exit and exactly one stderr line.
fails_one_line() {
    "$@" >/dev/null 2>"$tmp/err" && return 1
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || { cat "$tmp/err"; return 1; }
}

ok "unknown subcommand" fails_one_line $SIMG frobnicate
ok "bad size" fails_one_line $SIMG create -f raw "$tmp/x.raw" 12Q
ok "missing file (info)" fails_one_line $SIMG info "$tmp/nope.raw"
ok "missing file (map)" fails_one_line $SIMG map "$tmp/nope.raw"
ok "bad option" fails_one_line $SIMG info --bogus null-co://
ok "bad --output" fails_one_line $SIMG info --output=xml null-co://
ok "bad queue depth" fails_one_line $SIMG bench -d 0 null-co://
ok "unknown format" fails_one_line $SIMG info -f nosuch null-co://
ok "compare: missing file exits 2" status_is 2 $SIMG compare null-co:// "$tmp/nope"
ok "spindle-io: missing file" fails_one_line $SIO -c "read 0 512" "$tmp/nope.raw"
ok "spindle-io: unknown command" fails_one_line $SIO -c "frob" null-co://
ok "spindle-io: bad size exits 1" status_is 1 $SIO -c "read 0 12x" null-co://
ok "spindle-io: one parse error line" sh -c \
    "$SIO -c 'read 0 12x' null-co:// | grep -c . | grep -qx 1"
ok "spindle-io: no file open" status_is 1 $SIO -c "read 0 512"
ok "--help works everywhere" sh -c "$SIMG --help && $SIO --help && \
    for c in create info map compare bench check commit rebase resize snapshot measure amend dd; do $SIMG \$c --help || exit 1; done"
ok "spindle-io: good commands exit 0" \
    $SIO -c "write -P 7 0 4k" -c "aio_write 8k 4k" -c aio_flush -c "read 0 1k" null-co://
finish
