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
    stop_cleanly(b)


def stop_cleanly(b):
    """Stops a broker and asserts a clean exit (and, for samsad, no
    sanitizer report)."""
    rc = b.stop()
    if is_samsa(b):
        b.assert_no_sanitizer_reports()
    assert rc == 0, "broker did not shut down cleanly: " + b.log_text()[-3000:]


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


def kafka_tools(main_class):
    """Command prefix that runs one of Apache Kafka 3.9's command-line tools
    (e.g. org.apache.kafka.tools.reassign.ReassignPartitionsCommand, which
    kafka-reassign-partitions.sh runs), fetched from Maven Central."""
    libdir = os.path.join(CACHE, "kafka-tools-lib")
    marker = os.path.join(libdir, ".complete")
    if not os.path.exists(marker):
        subprocess.run(["mvn", "-q", "-B", "-Dstyle.color=never", "-f",
                        os.path.join(os.path.dirname(__file__), "kafka-tools", "pom.xml"),
                        "dependency:copy-dependencies", f"-DoutputDirectory={libdir}"], check=True)
        open(marker, "w").close()
    log4j = os.path.join(CACHE, "kafka-tools-log4j.properties")
    with open(log4j, "w") as f:
        f.write("log4j.rootLogger=WARN, stderr\n"
                "log4j.appender.stderr=org.apache.log4j.ConsoleAppender\n"
                "log4j.appender.stderr.Target=System.err\n"
                "log4j.appender.stderr.layout=org.apache.log4j.PatternLayout\n"
                "log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n\n")
    return ["java", "-Xmx256m", f"-Dlog4j.configuration=file:{log4j}", "-cp",
            os.path.join(libdir, "*"), main_class]


def unique(name):
    return f"{name}-{uuid.uuid4().hex[:8]}"


def high_watermark(consumer, topic, partition=0, timeout=60):
    """A partition's high watermark, asked through a confluent-kafka
    consumer, once its client knows the leader (right after a start or a
    failover it may not yet)."""
    from confluent_kafka import KafkaException, TopicPartition
    found = []

    def known():
        try:
            found.append(consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=5)[1])
            return True
        except KafkaException:
            return False
    wait_for(known, timeout, f"{topic}-{partition}'s watermarks")
    return found[-1]


def assert_refuses_to_start(zk, workdir, props, message):
    """A broker with props exits at start-up, saying message."""
    os.makedirs(workdir, exist_ok=True)
    b = new_broker(zk, workdir, props=props)
    b.start(wait=False)
    assert b.proc.wait(30) != 0
    assert message in b.log_text() + b.stderr_text(), (message, b.log_text()[-2000:])


def tool(name):
    return os.path.join(TOOLS, name)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report carries the tails of the broker logs under its
    tmp_path, so a failure seen only in CI can be read from CI's output."""
    outcome = yield
    report = outcome.get_result()
    tmp = item.funcargs.get("tmp_path") if hasattr(item, "funcargs") else None
    if not report.failed or tmp is None:
        return
    import glob
    for path in sorted(glob.glob(os.path.join(str(tmp), "**", "*.log"), recursive=True)):
        name = os.path.basename(path)
        if not (name.startswith("samsad-") or name.startswith("kafka-")):
            continue
        try:
            with open(path, errors="replace") as f:
                tail = f.readlines()[-120:]
        except OSError:
            continue
        report.sections.append((f"log tail {os.path.relpath(path, str(tmp))}", "".join(tail)))
