#!/bin/sh
# What bench/run.py needs beyond scripts/install-deps.sh: Redis (the Streams
# baseline), iperf3 (loopback bandwidth) and matplotlib (the chart).
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    redis-server redis-tools iperf3
python3 -m pip install -q matplotlib==3.9.2 2>/dev/null ||
    python3 -m pip install -q --break-system-packages matplotlib==3.9.2
