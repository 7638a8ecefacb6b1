#!/bin/sh
# The whole test suite: CUnit unit tests (normal and ASan/UBSan builds), then
# the integration suite (real ZooKeeper, real brokers, real clients) against
# the sanitizer build of samsad.  Expects scripts/install-deps.sh to have run.
set -eu
cd "$(dirname "$0")/.."
scripts/build.sh --asan
echo "== unit tests"
make -C build check
make -C build-asan check
echo "== integration tests (samsad built with AddressSanitizer + UBSan)"
SAMSAD="$PWD/build-asan/samsad" SAMSA_TOOLS="$PWD/build-asan" \
    python3 -m pytest -q -p no:cacheprovider tests/integration "$@"
