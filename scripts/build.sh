#!/bin/sh
# Builds samsa out of tree: build/ (normal) and, with --asan, build-asan/
# (AddressSanitizer + UBSan).  Re-running only rebuilds what changed.
set -eu
cd "$(dirname "$0")/.."
[ -x configure ] || ./autogen.sh >/dev/null
mkdir -p build
[ -f build/Makefile ] || (cd build && ../configure -q)
make -C build -j"$(nproc)" >/dev/null
if [ "${1:-}" = "--asan" ]; then
    mkdir -p build-asan
    [ -f build-asan/Makefile ] || (cd build-asan && ../configure -q --enable-sanitizers CFLAGS="-O1 -g")
    make -C build-asan -j"$(nproc)" >/dev/null
fi
