"""Kafka Connect's distributed worker (from Maven Central) against the broker:
its group rebalances complete at once when every member has rejoined, so
creating connectors takes seconds (it took minutes while a lone member's
rejoin waited out the rebalance timeout), and the connectors' records
arrive."""
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition

from conftest import CACHE, ROOT, free_port, unique, wait_for
from servers import stop_process
from test_clients import confluent_consume, create_topic

CONNECT_POM = os.path.join(ROOT, "tests", "integration", "connect", "pom.xml")
LINES = 50


@pytest.fixture(scope="session")
def connect_classpath():
    libdir = os.path.join(CACHE, "connect-lib")
    if not os.path.isdir(libdir) or not os.listdir(libdir):
        subprocess.run(["mvn", "-q", "-B", "-Dstyle.color=never", "-f", CONNECT_POM,
                        "dependency:copy-dependencies", f"-DoutputDirectory={libdir}"], check=True)
    return libdir + "/*"


def rest(port, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"},
                                 method="POST" if body is not None else "GET")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def high_watermark(bootstrap, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g")})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=5)[1]
    except KafkaException:
        return -1
    finally:
        c.close()


def running(port, name):
    try:
        st = rest(port, f"/connectors/{name}/status")
    except (urllib.error.URLError, OSError, ValueError):
        return False
    tasks = st.get("tasks", [])
    return st["connector"]["state"] == "RUNNING" and tasks and all(t["state"] == "RUNNING" for t in tasks)


class Worker:
    """One Connect distributed worker process; stopped by the test, by pid."""

    def __init__(self, classpath, tmp_path, bootstrap, group, extra=None):
        self.port = free_port()
        props = {
            "bootstrap.servers": bootstrap, "group.id": group,
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "value.converter": "org.apache.kafka.connect.storage.StringConverter",
            "config.storage.topic": group + "-configs", "offset.storage.topic": group + "-offsets",
            "status.storage.topic": group + "-status", "config.storage.replication.factor": "1",
            "offset.storage.replication.factor": "1", "status.storage.replication.factor": "1",
            "offset.flush.interval.ms": "1000", "listeners": f"http://127.0.0.1:{self.port}",
            **(extra or {}),
        }
        worker_props = tmp_path / f"worker-{self.port}.properties"
        worker_props.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        log4j = tmp_path / "log4j.properties"
        log4j.write_text("log4j.rootLogger=INFO, f\nlog4j.appender.f=org.apache.log4j.FileAppender\n"
                         f"log4j.appender.f.File={tmp_path}/connect.log\n"
                         "log4j.appender.f.layout=org.apache.log4j.PatternLayout\n"
                         "log4j.appender.f.layout.ConversionPattern=[%d] %p %m (%c)%n\n")
        self.proc = subprocess.Popen(["java", "-Xmx512m", f"-Dlog4j.configuration=file:{log4j}", "-cp",
                                      classpath, "org.apache.kafka.connect.cli.ConnectDistributed",
                                      str(worker_props)],
                                     stdout=subprocess.DEVNULL, stderr=open(tmp_path / "connect.err", "a"))
        wait_for(self.rest_up, 120, "the Connect worker's REST API")

    def rest_up(self):
        try:
            rest(self.port, "/connectors")
            return True
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def file_source(self, name, path, topic, extra=None):
        rest(self.port, "/connectors", {"name": name, "config": {
            "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
            "tasks.max": "1", "file": str(path), "topic": topic, **(extra or {})}})

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        stop_process(self.proc, 30)


def test_connect_worker_creates_connectors_in_seconds(broker, tmp_path, connect_classpath):
    worker = Worker(connect_classpath, tmp_path, broker.bootstrap, unique("connect"))
    try:
        topics = {}
        start = time.time()
        for i in range(2):
            name, topic = unique(f"src{i}"), unique(f"lines{i}")
            create_topic(broker.bootstrap, topic, 1)
            source = tmp_path / f"{name}.txt"
            source.write_text("".join(f"line-{n}\n" for n in range(LINES)))
            worker.file_source(name, source, topic)
            topics[name] = topic
        # Each creation rebalances the worker's group: with Kafka this takes
        # a few seconds; a rejoin that waits out rebalance.timeout.ms (60 s)
        # does not fit in the time allowed.
        wait_for(lambda: all(running(worker.port, n) for n in topics), 45,
                 "both connectors and their tasks to run")
        took = time.time() - start
        for topic in topics.values():
            wait_for(lambda: high_watermark(broker.bootstrap, topic) >= LINES, 60,
                     "the connector's records")
            got = confluent_consume(broker.bootstrap, topic, 1, LINES, timeout=60)
            assert sorted(m.value() for m in got) == sorted(f"line-{n}".encode() for n in range(LINES))
        print(f"connectors running after {took:.1f} s")
    finally:
        worker.stop()


def append_lines(path, first, count, seconds):
    """Appends line-first .. line-(first+count-1) to the file over `seconds`."""
    step = max(1, count // 40)
    for n in range(first, first + count, step):
        with open(path, "a") as f:
            f.write("".join(f"line-{i}\n" for i in range(n, min(n + step, first + count))))
        time.sleep(seconds / 40)


def committed_lines(bootstrap, topic, want, timeout):
    """Every value a read_committed consumer reads from the topic, once it
    has read `want` of them (and a second more, to see any extra)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g"),
                  "enable.auto.commit": False, "isolation.level": "read_committed"})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []

    def read():
        for m in c.consume(1000, 0.2):
            assert m.error() is None, m.error()
            got.append(m.value().decode())
        return len(got) >= want
    try:
        wait_for(read, timeout, f"{want} committed records in {topic}")
        end = time.time() + 1
        while time.time() < end:
            read()
        return got
    finally:
        c.close()


def test_connect_exactly_once_source_survives_kill9(broker, tmp_path, connect_classpath):
    """exactly.once.source.support=enabled: the worker's leader writes the
    config topic transactionally and fences the task's producers
    (Admin.fenceProducers, i.e. InitProducerId for their transactional
    ids); the task commits each poll's records and source offsets in one
    transaction.  Killed -9 while its file grows and started again, the
    worker resumes from the committed offsets: the topic's read_committed
    view is every line exactly once, in order."""
    group, name, topic = unique("connect"), unique("eos"), unique("eoslines")
    create_topic(broker.bootstrap, topic, 1)
    source = tmp_path / "eos.txt"
    total = 4000
    append_lines(source, 0, total // 4, 0)
    eos = {"exactly.once.source.support": "enabled", "session.timeout.ms": "10000",
           "heartbeat.interval.ms": "1000"}
    first = second = None
    try:
        first = Worker(connect_classpath, tmp_path, broker.bootstrap, group, eos)
        first.file_source(name, source, topic, {"exactly.once.support": "required",
                                                "transaction.boundary": "poll"})
        wait_for(lambda: running(first.port, name), 60, "the exactly-once connector to run")
        wait_for(lambda: high_watermark(broker.bootstrap, topic) > 0, 60, "the first transaction")
        grower = threading.Thread(target=append_lines, args=(source, total // 4, total - total // 4, 6))
        grower.start()
        time.sleep(2)
        first.kill9()
        assert high_watermark(broker.bootstrap, topic) < total, "the kill came after the last line"
        grower.join()
        second = Worker(connect_classpath, tmp_path, broker.bootstrap, group, eos)
        got = committed_lines(broker.bootstrap, topic, total, 120)
        want = [f"line-{n}" for n in range(total)]
        assert len(got) == len(want), f"{len(got)} records where the file has {len(want)} lines"
        assert got == want
        # Commit markers sit between the records.
        assert high_watermark(broker.bootstrap, topic) > total
    finally:
        for w in (first, second):
            if w is not None:
                w.stop()
