#!/bin/sh
# Install a build into a scratch DESTDIR and use it as a user would: the
# public headers and the README's example (example.c) must compile with
# nothing but `pkg-config spindle`'s flags (no source or build tree on the
# include path, so no build-private header such as config-host.h), and
# the example must link and run against the shared library and, with
# `pkg-config --static`, against the static one.  Prints TAP.
#
#   check-install.sh SOURCE_ROOT BUILD_ROOT CC [FLAGS...]
#
# FLAGS go to every compile and link (the build's -fsanitize=...).
# MESON and PKG_CONFIG name the programs to use (default: from PATH).
#
# Why the .pc file is copied: neither PKG_CONFIG_SYSROOT_DIR nor
# --define-prefix can point pkg-config at a DESTDIR here.  The sysroot is
# prepended to the flags of every package, glib-2.0's included, whose
# headers are not in the DESTDIR; --define-prefix guesses the prefix from
# the .pc file's directory and gets it wrong for a multiarch libdir
# (lib/x86_64-linux-gnu/pkgconfig).  So the test rewrites the installed
# prefix to the DESTDIR in a copy and leaves every other line as installed.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
src=$1; bld=$2; cc=$3; shift 3
meson=${MESON:-meson}
pkgconf=${PKG_CONFIG:-pkg-config}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
n=0; failed=0

# report NAME COMMAND...: run COMMAND, print ok/not ok and its output.
report() {
    name=$1; shift
    n=$((n + 1))
    if "$@" >"$tmp/out" 2>&1; then
        echo "ok $n $name"
    else
        echo "not ok $n $name"
        sed 's/^/# /' "$tmp/out"
        failed=1
    fi
}

bail() {
    echo "Bail out! $*"
    exit 1
}

# ---- steps ---------------------------------------------------------------

do_install() {
    "$meson" install -C "$bld" --destdir "$dest" --no-rebuild --quiet
}

# Copy the installed spindle.pc to $tmp/pc with its prefix moved into
# the DESTDIR (see the top of the file).
relocate_pc() {
    pcs=$(find "$dest" -name spindle.pc)
    if [ "$(echo "$pcs" | grep -c .)" != 1 ]; then
        echo "expected one installed spindle.pc, found: $pcs"
        return 1
    fi
    prefix=$(sed -n 's/^prefix=//p' "$pcs")
    [ -n "$prefix" ] || { echo "spindle.pc has no prefix"; return 1; }
    mkdir -p "$tmp/pc"
    sed "s|^\([A-Za-z_]*\)=$prefix|\1=$dest$prefix|" "$pcs" \
        > "$tmp/pc/spindle.pc"
    cat "$tmp/pc/spindle.pc"
    "$pkgconf" --exists --print-errors spindle
}

# Every public header of the source tree is installed where Cflags points.
headers_installed() {
    incdirs=$("$pkgconf" --cflags-only-I spindle | tr ' ' '\n' |
              sed -n 's/^-I//p')
    missing=0
    for h in $headers; do
        found=0
        for d in $incdirs; do
            [ -f "$d/$h" ] && found=1
        done
        if [ $found = 0 ]; then
            echo "not installed: $h"
            missing=1
        fi
    done
    return $missing
}

# Each installed header compiles alone with the installed flags only.
headers_standalone() {
    bad=0
    pat='#[[:space:]]*include[[:space:]]*[<"]config-host\.h'
    if grep -rlE "$pat" "$dest"; then
        echo "installed headers above include the build-private config-host.h"
        bad=1
    fi
    for h in $headers; do
        printf '#include "%s"\n#include "%s"\n' "$h" "$h" > "$tmp/h.c"
        # shellcheck disable=SC2046
        if ! "$cc" "$@" $("$pkgconf" --cflags spindle) -fsyntax-only \
                -Wall -Werror -Wno-unused-function "$tmp/h.c"; then
            echo "does not compile alone: $h"
            bad=1
        fi
    done
    return $bad
}

# The README's minimal program is example.c's body, verbatim.
readme_in_sync() {
    awk '/^A minimal program/ { f = 1 }
         f && /^```$/ && in_c { exit }
         in_c { print }
         f && /^```c$/ { in_c = 1 }' "$src/README.md" > "$tmp/readme.c"
    awk 'body { print } /^ \*\/$/ { body = 1 }' \
        "$src/tests/install/example.c" > "$tmp/example-body.c"
    if [ ! -s "$tmp/readme.c" ]; then
        echo "no example found in README.md"
        return 1
    fi
    diff -u "$tmp/readme.c" "$tmp/example-body.c"
}

# run_example BINARY [ENV...]: it must print the BH's line.
run_example() {
    bin=$1; shift
    env "$@" "$bin" > "$tmp/run.out" || return 1
    cat "$tmp/run.out"
    grep -qx 'hello from a bottom half' "$tmp/run.out"
}

# Uses the shared library: linked to it, found in the DESTDIR.
example_shared() {
    libdir=$("$pkgconf" --variable=libdir spindle)
    # shellcheck disable=SC2046
    "$cc" "$@" -Wall -Werror -o "$tmp/ex-shared" \
        "$src/tests/install/example.c" \
        $("$pkgconf" --cflags --libs spindle) || return 1
    readelf -d "$tmp/ex-shared" | grep -q 'NEEDED.*libspindle\.so' ||
        { echo "not linked to libspindle.so"; return 1; }
    LD_LIBRARY_PATH="$libdir" ldd "$tmp/ex-shared" | grep -q "$dest" ||
        { echo "libspindle.so not loaded from $libdir"; return 1; }
    run_example "$tmp/ex-shared" LD_LIBRARY_PATH="$libdir"
}

# Uses libspindle.a: everything it needs must come from Libs.private and
# Requires.private; the result runs without the DESTDIR on any path.
example_static() {
    # shellcheck disable=SC2046
    libs=$("$pkgconf" --static --libs spindle |
           sed 's/-lspindle\([ ]\|$\)/-l:libspindle.a\1/')
    echo "static libs: $libs"
    # shellcheck disable=SC2086
    "$cc" "$@" -Wall -Werror -o "$tmp/ex-static" \
        "$src/tests/install/example.c" \
        $("$pkgconf" --static --cflags spindle) $libs || return 1
    if readelf -d "$tmp/ex-static" | grep -q 'NEEDED.*libspindle'; then
        echo "linked to the shared library"
        return 1
    fi
    run_example "$tmp/ex-static"
}

# ---- main ----------------------------------------------------------------

headers=$(cd "$src/include" && find . -name '*.h' | sed 's|^\./||' | sort)
echo "1..7"
export PKG_CONFIG_PATH="$tmp/pc"
report "meson install --destdir" do_install
[ $failed = 0 ] || bail "install failed"
report "spindle.pc installed and usable" relocate_pc
[ $failed = 0 ] || bail "no usable spindle.pc"
report "every public header installed" headers_installed
report "installed headers compile alone" headers_standalone "$@"
report "README example is tests/install/example.c" readme_in_sync
report "example against the shared library" example_shared "$@"
report "example against the static library" example_static "$@"
exit $failed
