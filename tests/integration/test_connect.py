"""Kafka Connect's distributed worker (from Maven Central) against the broker:
its group rebalances complete at once when every member has rejoined, so
creating connectors takes seconds (it took minutes while a lone member's
rejoin waited out the rebalance timeout), and the connectors' records
arrive."""
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition

from conftest import CACHE, ROOT, free_port, unique, wait_for
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


def test_connect_worker_creates_connectors_in_seconds(broker, tmp_path, connect_classpath):
    port = free_port()
    group = unique("connect")
    props = {
        "bootstrap.servers": broker.bootstrap, "group.id": group,
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.storage.StringConverter",
        "config.storage.topic": group + "-configs", "offset.storage.topic": group + "-offsets",
        "status.storage.topic": group + "-status", "config.storage.replication.factor": "1",
        "offset.storage.replication.factor": "1", "status.storage.replication.factor": "1",
        "offset.flush.interval.ms": "1000", "listeners": f"http://127.0.0.1:{port}",
    }
    worker_props = tmp_path / "worker.properties"
    worker_props.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    log4j = tmp_path / "log4j.properties"
    log4j.write_text("log4j.rootLogger=INFO, f\nlog4j.appender.f=org.apache.log4j.FileAppender\n"
                     f"log4j.appender.f.File={tmp_path}/connect.log\n"
                     "log4j.appender.f.layout=org.apache.log4j.PatternLayout\n"
                     "log4j.appender.f.layout.ConversionPattern=[%d] %p %m (%c)%n\n")
    worker = subprocess.Popen(["java", "-Xmx512m", f"-Dlog4j.configuration=file:{log4j}", "-cp",
                               connect_classpath, "org.apache.kafka.connect.cli.ConnectDistributed",
                               str(worker_props)],
                              stdout=subprocess.DEVNULL, stderr=open(tmp_path / "connect.err", "w"))
    try:
        def rest_up():
            try:
                rest(port, "/connectors")
                return True
            except (urllib.error.URLError, OSError, ValueError):
                return False
        wait_for(rest_up, 120, "the Connect worker's REST API")
        topics = {}
        start = time.time()
        for i in range(2):
            name, topic = unique(f"src{i}"), unique(f"lines{i}")
            create_topic(broker.bootstrap, topic, 1)
            source = tmp_path / f"{name}.txt"
            source.write_text("".join(f"line-{n}\n" for n in range(LINES)))
            rest(port, "/connectors", {"name": name, "config": {
                "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
                "tasks.max": "1", "file": str(source), "topic": topic}})
            topics[name] = topic
        # Each creation rebalances the worker's group: with Kafka this takes
        # a few seconds; a rejoin that waits out rebalance.timeout.ms (60 s)
        # does not fit in the time allowed.
        wait_for(lambda: all(running(port, n) for n in topics), 45,
                 "both connectors and their tasks to run")
        took = time.time() - start
        for topic in topics.values():
            wait_for(lambda: high_watermark(broker.bootstrap, topic) >= LINES, 60,
                     "the connector's records")
            got = confluent_consume(broker.bootstrap, topic, 1, LINES, timeout=60)
            assert sorted(m.value() for m in got) == sorted(f"line-{n}".encode() for n in range(LINES))
        print(f"connectors running after {took:.1f} s")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
