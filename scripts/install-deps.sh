#!/bin/sh
# Installs everything samsa needs to build and test on Debian (run as root
# or with sudo): compilers and libraries, ZooKeeper, kcat, Java + Maven for
# the kafka-clients tests, and the Python test clients.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
    build-essential autoconf automake libtool pkg-config \
    libzookeeper-mt-dev libevent-dev libsnappy-dev libssl-dev libcunit1-dev \
    zlib1g-dev liblz4-dev libzstd-dev librdkafka-dev libjansson-dev uthash-dev \
    libpcre2-dev \
    zookeeper kcat default-jdk-headless maven python3 python3-pip
cd "$(dirname "$0")/.."
PIP="python3 -m pip"
# Debian's python marks itself externally managed; the test clients are
# pinned and only used by the test suite.
$PIP install -q -r tests/integration/requirements.txt 2>/dev/null ||
    $PIP install -q --break-system-packages -r tests/integration/requirements.txt
