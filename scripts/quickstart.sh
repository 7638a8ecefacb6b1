#!/bin/sh
# One command on a fresh Debian machine: install dependencies, build, start a
# local ZooKeeper + samsa broker and round-trip messages through it.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec scripts/local-cluster.sh "$@"
