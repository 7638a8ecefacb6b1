#!/usr/bin/env python3
"""Apache Kafka (ZooKeeper mode) as a side-by-side peer for tests and benchmarks.

    bench/kafka_fixture.py fetch [--version 3.9.1]        # download into the cache
    bench/kafka_fixture.py run --zookeeper 127.0.0.1:2181  # start one broker, Ctrl-C stops

The broker and its runtime dependencies come from Maven Central through
`mvn dependency:copy-dependencies` (bench/kafka/pom.xml) into
$SAMSA_CACHE/kafka-<version> (default: <repo>/.cache), outside git.  With a
warm cache nothing is downloaded.  Brokers listen on loopback only, use a
fresh ZooKeeper chroot and free ports, and are stopped by whoever started them.
"""
import argparse
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CACHE = os.environ.get("SAMSA_CACHE", os.path.join(ROOT, ".cache"))
DEFAULT_VERSION = os.environ.get("KAFKA_VERSION", "3.9.1")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_kafka(version=DEFAULT_VERSION):
    """Returns the directory holding Kafka's jars, fetching them if needed."""
    libdir = os.path.join(CACHE, f"kafka-{version}")
    marker = os.path.join(libdir, ".complete")
    if os.path.exists(marker):
        return libdir
    tmp = libdir + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(["mvn", "-q", "-B", "-Dstyle.color=never", "-f", os.path.join(HERE, "kafka", "pom.xml"),
                    f"-Dkafka.version={version}", "dependency:copy-dependencies",
                    f"-DoutputDirectory={tmp}"], check=True)
    shutil.rmtree(libdir, ignore_errors=True)
    os.rename(tmp, libdir)
    open(marker, "w").close()
    return libdir


def api_versions_ok(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            body = struct.pack(">hhih", 18, 0, 1, 4) + b"test"
            s.sendall(struct.pack(">i", len(body)) + body)
            hdr = s.recv(8)
            return len(hdr) == 8 and struct.unpack(">ii", hdr)[1] == 1
    except OSError:
        return False


class KafkaBroker:
    """One ZooKeeper-mode Apache Kafka broker; the same interface as the
    samsad Broker of the integration tests."""

    kind = "kafka"

    def __init__(self, zk_connect, workdir, broker_id=0, chroot=None, props=None,
                 version=DEFAULT_VERSION, heap="1g"):
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

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def command(self):
        return ["java", f"-Xmx{self.heap}", f"-Xms{self.heap}", "-XX:+UseG1GC",
                "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
                f"-Dlog4j.configuration=file:{self.log4j}",
                "-cp", os.path.join(self.libdir, "*"), "kafka.Kafka", self.cfg]

    def start(self, wait=True, timeout=120):
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
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
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = None
        if self.proc:
            rc = self.proc.returncode
            if self.proc.stderr:
                self.proc.stderr.close()
            # The JVM exits 143 on SIGTERM after a clean shutdown.
            if sig == signal.SIGTERM and rc == 128 + signal.SIGTERM:
                rc = 0
        self.proc = None
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch")
    f.add_argument("--version", default=DEFAULT_VERSION)
    r = sub.add_parser("run")
    r.add_argument("--version", default=DEFAULT_VERSION)
    r.add_argument("--zookeeper", required=True)
    r.add_argument("--dir", default=None)
    args = ap.parse_args()
    if args.cmd == "fetch":
        print(ensure_kafka(args.version))
        return
    workdir = args.dir or os.path.join(CACHE, "kafka-run-" + uuid.uuid4().hex[:6])
    b = KafkaBroker(args.zookeeper, workdir, version=args.version).start()
    print(f"Kafka {args.version} serving on {b.bootstrap} (chroot {b.chroot}, dir {workdir})")
    try:
        b.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        b.stop()


if __name__ == "__main__":
    main()
