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
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SAMSAD = os.environ.get("SAMSAD", os.path.join(ROOT, "build", "samsad"))
TOOLS = os.environ.get("SAMSA_TOOLS", os.path.join(ROOT, "build"))
ZK_CLASSPATH = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/*"
JAVA_DIR = os.path.join(os.path.dirname(__file__), "java")
CACHE = os.environ.get("SAMSA_TEST_CACHE", os.path.join(ROOT, ".cache"))
TARGET = os.environ.get("SAMSA_TEST_TARGET", "samsa")

sys.path.insert(0, os.path.join(ROOT, "bench"))
from kafka_fixture import KafkaBroker  # noqa: E402

samsa_only = pytest.mark.skipif(TARGET != "samsa", reason="samsa-specific behaviour")


def is_samsa(b):
    return getattr(b, "kind", "samsa") == "samsa"


def new_broker(zk, workdir, **kw):
    """A broker of the selected target (not started)."""
    if TARGET == "samsa":
        return Broker(zk, workdir, **kw)
    version = TARGET.split("-", 1)[1] if "-" in TARGET else None
    if version:
        kw["version"] = version
    return KafkaBroker(zk.connect, workdir, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=30.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class ZooKeeper:
    def __init__(self, workdir):
        self.dir = workdir
        self.port = free_port()
        os.makedirs(os.path.join(workdir, "data"), exist_ok=True)
        self.cfg = os.path.join(workdir, "zoo.cfg")
        with open(self.cfg, "w") as f:
            f.write("tickTime=500\ninitLimit=10\nsyncLimit=5\n"
                    f"dataDir={workdir}/data\nclientPort={self.port}\n"
                    "clientPortAddress=127.0.0.1\nadmin.enableServer=false\n"
                    "4lw.commands.whitelist=ruok,stat\nmaxSessionTimeout=60000\n")
        self.log = open(os.path.join(workdir, "zookeeper.log"), "w")
        self.proc = subprocess.Popen(
            ["java", "-Xmx256m", "-cp", ZK_CLASSPATH,
             "org.apache.zookeeper.server.quorum.QuorumPeerMain", self.cfg],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir)
        wait_for(self.ruok, 60, "ZooKeeper to answer ruok")

    @property
    def connect(self):
        return f"127.0.0.1:{self.port}"

    def ruok(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"ruok")
                return s.recv(4) == b"imok"
        except OSError:
            return False

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def api_versions_ok(port):
    """True once the broker answers an ApiVersions v0 request."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            body = struct.pack(">hhih", 18, 0, 1, 4) + b"test"
            s.sendall(struct.pack(">i", len(body)) + body)
            hdr = s.recv(8)
            return len(hdr) == 8 and struct.unpack(">ii", hdr)[1] == 1
    except OSError:
        return False


class Broker:
    kind = "samsa"

    def __init__(self, zk, workdir, broker_id=0, chroot=None, props=None):
        self.zk = zk
        self.dir = workdir
        self.id = broker_id
        self.port = free_port()
        self.chroot = chroot or "/samsa-" + uuid.uuid4().hex[:8]
        self.logdir = os.path.join(workdir, f"logs-{broker_id}")
        self.props = {
            "broker.id": str(broker_id),
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "log.dirs": self.logdir,
            "zookeeper.connect": zk.connect + self.chroot,
            "zookeeper.session.timeout.ms": "6000",
            "num.partitions": "3",
        }
        self.props.update(props or {})
        self.cfg = os.path.join(workdir, f"server-{broker_id}.properties")
        with open(self.cfg, "w") as f:
            for k, v in self.props.items():
                f.write(f"{k}={v}\n")
        self.logfile = os.path.join(workdir, f"samsad-{broker_id}.log")
        self.proc = None

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def start(self, wait=True):
        self.proc = subprocess.Popen([SAMSAD, "--log-file", self.logfile, self.cfg],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if wait:
            def ready():
                if self.proc.poll() is not None:
                    raise AssertionError("samsad exited with %s: %s" % (
                        self.proc.returncode, self.proc.stderr.read().decode()[-2000:] + self.log_text()[-2000:]))
                return api_versions_ok(self.port) and "started" in self.log_text()
            wait_for(ready, 60, "samsad to serve")
        return self

    def log_text(self):
        try:
            with open(self.logfile) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def assert_no_sanitizer_reports(self):
        text = self.log_text()
        assert "runtime error" not in text and "AddressSanitizer" not in text


@pytest.fixture(scope="session")
def zookeeper(tmp_path_factory):
    zk = ZooKeeper(str(tmp_path_factory.mktemp("zk")))
    yield zk
    zk.stop()


@pytest.fixture(scope="session")
def broker(zookeeper, tmp_path_factory):
    b = new_broker(zookeeper, str(tmp_path_factory.mktemp("broker"))).start()
    yield b
    rc = b.stop()
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
