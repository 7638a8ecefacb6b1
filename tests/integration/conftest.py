"""Fixtures for samsa's integration tests: a real ZooKeeper (Debian's
zookeeper package), real samsad brokers on free loopback ports, and the
Java kafka-clients interop program built with Maven.

Everything a test starts is stopped by the fixture that started it.

SAMSA_TEST_TARGET=kafka (or kafka-2.8.2, kafka-<version>) runs the same tests
against Apache Kafka in ZooKeeper mode (bench/kafka_fixture.py), so every test
of samsa's behaviour is also checked against Kafka's.  Assertions about
samsa's own log lines and tests of samsa-only behaviour are marked and
skipped there.
"""
import os
import subprocess
import sys
import uuid

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOLS = os.environ.get("SAMSA_TOOLS", os.path.join(ROOT, "build"))
JAVA_DIR = os.path.join(os.path.dirname(__file__), "java")
TARGET = os.environ.get("SAMSA_TEST_TARGET", "samsa")

sys.path.insert(0, os.path.join(ROOT, "tests"))
from servers import CACHE, KafkaBroker, SamsaBroker, ZooKeeper, free_port, wait_for  # noqa: E402,F401

samsa_only = pytest.mark.skipif(TARGET != "samsa", reason="samsa-specific behaviour")


def is_samsa(b):
    return getattr(b, "kind", "samsa") == "samsa"


def new_broker(zk, workdir, **kw):
    """A broker of the selected target (not started)."""
    if TARGET == "samsa":
        return SamsaBroker(zk, workdir, **kw)
    version = TARGET.split("-", 1)[1] if "-" in TARGET else None
    if version:
        kw["version"] = version
    return KafkaBroker(zk.connect, workdir, **kw)


@pytest.fixture(scope="session")
def zookeeper(tmp_path_factory):
    zk = ZooKeeper(str(tmp_path_factory.mktemp("zk")))
    yield zk
    zk.stop()


@pytest.fixture
def zk_client(zookeeper):
    from kazoo.client import KazooClient
    z = KazooClient(hosts=zookeeper.connect)
    z.start(30)
    yield z
    z.stop()
    z.close()


@pytest.fixture(scope="session")
def broker(zookeeper, tmp_path_factory):
    b = new_broker(zookeeper, str(tmp_path_factory.mktemp("broker"))).start()
    yield b
    rc = b.stop()
    if is_samsa(b):
        b.assert_no_sanitizer_reports()
    assert rc == 0, "samsad did not shut down cleanly: " + b.log_text()[-3000:]


@pytest.fixture
def make_broker(zookeeper, tmp_path):
    """Starts extra brokers for one test (restarts, kill -9, special configs)."""
    started = []

    def make(**kw):
        b = new_broker(zookeeper, str(tmp_path), **kw)
        started.append(b)
        return b

    yield make
    for b in started:
        b.kill9()
        if is_samsa(b):
            b.assert_no_sanitizer_reports()


@pytest.fixture(scope="session")
def java_client():
    """Command prefix that runs InteropClient with kafka-clients from Maven Central."""
    libdir = os.path.join(CACHE, "java-lib")
    classes = os.path.join(CACHE, "java-classes")
    if not os.path.isdir(libdir) or not os.listdir(libdir):
        subprocess.run(["mvn", "-q", "-B", "-Dstyle.color=never", "-f", os.path.join(JAVA_DIR, "pom.xml"),
                        "dependency:copy-dependencies", f"-DoutputDirectory={libdir}"], check=True)
    os.makedirs(classes, exist_ok=True)
    subprocess.run(["javac", "-d", classes, "-cp", libdir + "/*",
                    os.path.join(JAVA_DIR, "src/main/java/InteropClient.java")], check=True)
    return ["java", "-Xmx256m", "-cp", f"{classes}:{libdir}/*", "InteropClient"]


def unique(name):
    return f"{name}-{uuid.uuid4().hex[:8]}"


def tool(name):
    return os.path.join(TOOLS, name)
