#!/bin/sh
# Make sure the Debian packages named on the command line are installed.
# As root, install the missing ones with apt-get; otherwise print the one
# command to run and fail.
set -u
missing=""
for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)
    case "$status" in
        *" installed") ;;
        *) missing="$missing $pkg" ;;
    esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null &&
        apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
        { echo "error: apt-get could not install:$missing" >&2; exit 1; }
    exit 0
fi
echo "error: missing Debian packages; run:" >&2
echo "  sudo apt-get install -y$missing" >&2
exit 1
