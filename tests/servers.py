"""Real servers for samsa's tests and benchmarks: ZooKeeper (Debian's
zookeeper package), samsad, and Apache Kafka in ZooKeeper mode fetched from
Maven Central.  Each listens on loopback with free ports; whoever starts one
stops it.
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SAMSAD = os.environ.get("SAMSAD", os.path.join(ROOT, "build", "samsad"))
ZK_CLASSPATH = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/*"
CACHE = os.environ.get("SAMSA_CACHE", os.path.join(ROOT, ".cache"))
KAFKA_POM = os.path.join(ROOT, "bench", "kafka", "pom.xml")
DEFAULT_KAFKA_VERSION = os.environ.get("KAFKA_VERSION", "3.9.1")


_handed_out = set()


def free_port():
    """A port nothing listens on, never one this process handed out
    before: the kernel may offer a just-closed port again, and a broker
    given it for two listeners cannot start (a CI failure)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def stop_process(proc, timeout=60):
    """SIGTERM, then SIGKILL if it has not exited after `timeout` s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for(pred, timeout=30.0, what="condition"):
    """Polls pred until it returns something true, and returns that."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class ZooKeeper:
    def __init__(self, workdir, heap="256m"):
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
            ["java", f"-Xmx{heap}", "-cp", ZK_CLASSPATH,
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


def _place_port(props, port):
    """Listener lists in props may name the broker's own PLAINTEXT port
    (the one readiness is checked on) as {port}."""
    for key in ("listeners", "advertised.listeners"):
        if key in props:
            props[key] = props[key].replace("{port}", str(port))


class BrokerProcess:
    """What samsad and Kafka brokers share: the process, its log, stopping."""

    stop_timeout = 30

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

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
                self.proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = None
        if self.proc:
            rc = self.proc.returncode
            if self.proc.stderr:
                self.proc.stderr.close()
            # A JVM exits 143 on SIGTERM after a clean shutdown.
            if self.kind == "kafka" and sig == signal.SIGTERM and rc == 128 + signal.SIGTERM:
                rc = 0
        self.proc = None
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)


class SamsaBroker(BrokerProcess):
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
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
        }
        self.props.update(props or {})
        _place_port(self.props, self.port)
        self.cfg = os.path.join(workdir, f"server-{broker_id}.properties")
        with open(self.cfg, "w") as f:
            for k, v in self.props.items():
                f.write(f"{k}={v}\n")
        self.logfile = os.path.join(workdir, f"samsad-{broker_id}.log")
        self.proc = None

    def start(self, wait=True):
        self.errfile = os.path.join(self.dir, f"samsad-{self.id}.stderr")
        with open(self.errfile, "ab") as err:
            self.proc = subprocess.Popen([SAMSAD, "--log-file", self.logfile, self.cfg],
                                         stdout=subprocess.DEVNULL, stderr=err)
        if wait:
            def ready():
                if self.proc.poll() is not None:
                    raise AssertionError("samsad exited with %s: %s" % (
                        self.proc.returncode, self.stderr_text()[-2000:] + self.log_text()[-2000:]))
                return api_versions_ok(self.port) and "started" in self.log_text()
            wait_for(ready, 60, "samsad to serve")
        return self

    def stderr_text(self):
        try:
            with open(self.errfile, errors="replace") as f:
                return f.read()
        except (FileNotFoundError, AttributeError):
            return ""

    def assert_no_sanitizer_reports(self):
        text = self.stderr_text()
        assert "runtime error" not in text and "Sanitizer" not in text, text[-4000:]


def ensure_kafka(version=DEFAULT_KAFKA_VERSION):
    """Returns the directory holding Kafka's jars, fetching them if needed."""
    libdir = os.path.join(CACHE, f"kafka-{version}")
    marker = os.path.join(libdir, ".complete")
    if os.path.exists(marker):
        return libdir
    tmp = libdir + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(["mvn", "-q", "-B", "-Dstyle.color=never", "-f", KAFKA_POM,
                    f"-Dkafka.version={version}", "dependency:copy-dependencies",
                    f"-DoutputDirectory={tmp}"], check=True)
    shutil.rmtree(libdir, ignore_errors=True)
    os.rename(tmp, libdir)
    open(marker, "w").close()
    return libdir


class KafkaBroker(BrokerProcess):
    """One ZooKeeper-mode Apache Kafka broker; the same interface as
    SamsaBroker."""

    kind = "kafka"
    stop_timeout = 60

    def __init__(self, zk_connect, workdir, broker_id=0, chroot=None, props=None,
                 version=DEFAULT_KAFKA_VERSION, heap="1g"):
        self.libdir = ensure_kafka(version)
        self.version = version
        self.dir = workdir
        self.id = broker_id
        self.port = free_port()
        self.chroot = chroot or "/kafka-" + uuid.uuid4().hex[:8]
        self.logdir = os.path.join(workdir, f"kafka-logs-{broker_id}")
        self.heap = heap
        self.props = {
            "broker.id": str(broker_id),
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "log.dirs": self.logdir,
            "zookeeper.connect": zk_connect + self.chroot,
            "zookeeper.session.timeout.ms": "6000",
            "num.partitions": "3",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
        }
        self.props.update(props or {})
        _place_port(self.props, self.port)
        os.makedirs(workdir, exist_ok=True)
        self.cfg = os.path.join(workdir, f"kafka-server-{broker_id}.properties")
        with open(self.cfg, "w") as f:
            for k, v in self.props.items():
                f.write(f"{k}={v}\n")
        self.logfile = os.path.join(workdir, f"kafka-{broker_id}.log")
        self.log4j = os.path.join(workdir, f"kafka-log4j-{broker_id}.properties")
        with open(self.log4j, "w") as f:
            f.write("log4j.rootLogger=INFO, file\n"
                    "log4j.logger.kafka.request.logger=WARN\n"
                    "log4j.logger.state.change.logger=WARN\n"
                    "log4j.appender.file=org.apache.log4j.FileAppender\n"
                    f"log4j.appender.file.File={self.logfile}\n"
                    "log4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
                    "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n\n")
        self.proc = None

    def command(self):
        return ["java", f"-Xmx{self.heap}", f"-Xms{self.heap}", "-XX:+UseG1GC",
                "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
                f"-Dlog4j.configuration=file:{self.log4j}",
                "-cp", os.path.join(self.libdir, "*"), "kafka.Kafka", self.cfg]

    def start(self, wait=True, timeout=120):
        with open(os.path.join(self.dir, f"kafka-{self.id}.stderr"), "ab") as err:
            self.proc = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=err)
        if wait:
            deadline = time.time() + timeout
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError("kafka exited with %s: %s" % (
                        self.proc.returncode, self.log_text()[-3000:]))
                if "started (kafka.server.KafkaServer)" in self.log_text() and api_versions_ok(self.port):
                    return self
                time.sleep(0.1)
            raise AssertionError("timed out waiting for Kafka to serve")
        return self
