"""Broker lifecycle, ZooKeeper layout, on-disk format, long-poll and tools."""
import json
import os
import signal
import struct
import subprocess
import threading
import time

import pytest
from confluent_kafka import Producer

from conftest import is_samsa, samsa_only, tool, unique, wait_for
from kproto import Conn, batch, fetch_v4, parse_fetch_v4_records_len, parse_produce_v3_response, produce_v3
from test_clients import confluent_consume, create_topic


def test_znodes_in_kafka_layout(broker, zk_client):
    root = broker.chroot
    reg = json.loads(zk_client.get(f"{root}/brokers/ids/0")[0])
    assert reg["version"] == 5
    assert reg["endpoints"] == [f"PLAINTEXT://127.0.0.1:{broker.port}"]
    assert reg["host"] == "127.0.0.1" and reg["port"] == broker.port
    assert isinstance(reg["timestamp"], str)
    assert reg["listener_security_protocol_map"] == {"PLAINTEXT": "PLAINTEXT"}
    _, stat = zk_client.get(f"{root}/brokers/ids/0")
    assert stat.ephemeralOwner != 0
    ctl = json.loads(zk_client.get(f"{root}/controller")[0])
    assert ctl["brokerid"] == 0
    assert int(zk_client.get(f"{root}/controller_epoch")[0]) >= 1
    cid = json.loads(zk_client.get(f"{root}/cluster/id")[0])
    assert cid["version"] == "1" and len(cid["id"]) == 22
    for path in ["/consumers", "/brokers/topics", "/config/topics", "/admin/delete_topics",
                 "/isr_change_notification", "/config/changes"]:
        assert zk_client.exists(root + path), path
    topic = unique("zk")
    create_topic(broker.bootstrap, topic, 2, {"retention.ms": "1000"})
    assign = json.loads(zk_client.get(f"{root}/brokers/topics/{topic}")[0])
    assert assign["version"] == 3 and assign["partitions"] == {"0": [0], "1": [0]}
    assert len(assign["topic_id"]) == 22
    state = json.loads(zk_client.get(f"{root}/brokers/topics/{topic}/partitions/1/state")[0])
    assert state == {"controller_epoch": state["controller_epoch"], "leader": 0, "version": 1,
                     "leader_epoch": 0, "isr": [0]}
    cfg = json.loads(zk_client.get(f"{root}/config/topics/{topic}")[0])
    assert cfg == {"version": 1, "config": {"retention.ms": "1000"}}
    meta = open(os.path.join(broker.logdir, "meta.properties")).read()
    assert f"cluster.id={cid['id']}" in meta and "broker.id=0" in meta and "version=0" in meta


def test_topic_written_to_zookeeper_is_picked_up(broker, zk_client):
    """kafka-topics --zookeeper (2.x) writes the znodes directly."""
    topic = unique("legacy")
    root = broker.chroot
    zk_client.create(f"{root}/config/topics/{topic}", b'{"version":1,"config":{}}')
    zk_client.create(f"{root}/brokers/topics/{topic}", b'{"version":1,"partitions":{"0":[0],"1":[0]}}')
    wait_for(lambda: zk_client.exists(f"{root}/brokers/topics/{topic}/partitions/1/state"), 30,
             "the controller to bring the partitions online")
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(10):
        p.produce(topic, value=b"%d" % i, partition=i % 2)
    assert p.flush(30) == 0
    assert len(confluent_consume(broker.bootstrap, topic, 2, 10)) == 10
    # /admin/delete_topics is honoured.
    zk_client.create(f"{root}/admin/delete_topics/{topic}")
    wait_for(lambda: not zk_client.exists(f"{root}/brokers/topics/{topic}"), 30, "topic deletion")
    wait_for(lambda: not zk_client.exists(f"{root}/admin/delete_topics/{topic}"), 30, "marker removal")
    wait_for(lambda: not os.path.exists(os.path.join(broker.logdir, f"{topic}-0")), 30, "log removal")


def produce_acked(bootstrap, topic, n, partitions):
    acked = []
    p = Producer({"bootstrap.servers": bootstrap, "acks": 1, "linger.ms": 5})

    def dr(err, msg):
        if err is None:
            acked.append((msg.partition(), msg.offset(), msg.value()))

    for i in range(n):
        while True:
            try:
                p.produce(topic, key=b"%d" % i, value=b"value-%d" % i, on_delivery=dr)
                break
            except BufferError:
                p.poll(0.05)
    assert p.flush(60) == 0
    return acked


def test_kill9_and_restart_loses_nothing_acknowledged(make_broker, zk_client):
    b = make_broker(props={"log.segment.bytes": "262144"}).start()
    topic = unique("crash")
    create_topic(b.bootstrap, topic, 3)
    acked = produce_acked(b.bootstrap, topic, 20000, 3)
    assert len(acked) == 20000
    b.kill9()
    assert not os.path.exists(os.path.join(b.logdir, ".kafka_cleanshutdown"))
    # A torn write at the tail of one partition, as a crash mid-append leaves.
    seg_dir = os.path.join(b.logdir, f"{topic}-0")
    last = sorted(f for f in os.listdir(seg_dir) if f.endswith(".log"))[-1]
    with open(os.path.join(seg_dir, last), "ab") as f:
        f.write(b"\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x01\x00garbage")
    if not is_samsa(b):
        # Kafka refuses to start while the killed process's registration
        # lives on; samsa waits for it by itself.
        wait_for(lambda: not zk_client.exists(f"{b.chroot}/brokers/ids/0"), 60, "the old session to expire")
    b.start()
    if is_samsa(b):
        assert "unclean shutdown" in b.log_text()
        assert "truncating" in b.log_text()
    msgs = confluent_consume(b.bootstrap, topic, 3, len(acked))
    got = sorted((m.partition(), m.offset(), m.value()) for m in msgs)
    assert got == sorted(acked)
    # And the log keeps going at the right offsets.
    more = produce_acked(b.bootstrap, topic, 300, 3)
    ends = {}
    for part, off, _ in acked:
        ends[part] = max(ends.get(part, -1), off)
    for part, off, _ in more:
        assert off > ends[part]
    assert b.stop() == 0


def test_sigterm_is_clean_and_restart_is_fast_path(make_broker, zk_client):
    b = make_broker().start()
    topic = unique("clean")
    create_topic(b.bootstrap, topic, 2)
    acked = produce_acked(b.bootstrap, topic, 1000, 2)
    assert b.stop() == 0
    assert os.path.exists(os.path.join(b.logdir, ".kafka_cleanshutdown"))
    assert not zk_client.exists(f"{b.chroot}/brokers/ids/0"), "broker znode removed at shutdown"
    ckpt = open(os.path.join(b.logdir, "recovery-point-offset-checkpoint")).read().split("\n")
    assert ckpt[0] == "0" and int(ckpt[1]) == 2
    b.start()
    if is_samsa(b):
        assert "(clean shutdown)" in b.log_text()
    assert not os.path.exists(os.path.join(b.logdir, ".kafka_cleanshutdown"))
    msgs = confluent_consume(b.bootstrap, topic, 2, 1000)
    assert sorted((m.partition(), m.offset()) for m in msgs) == sorted((p, o) for p, o, _ in acked)
    assert b.stop() == 0


def test_duplicate_broker_id_is_refused(broker, make_broker):
    dup = make_broker(chroot=broker.chroot)
    dup.start(wait=False)
    rc = dup.proc.wait(60)
    assert rc != 0
    assert "node already exists" in dup.log_text()


@samsa_only
def test_sighup_reopens_log_file(make_broker):
    b = make_broker().start()
    os.rename(b.logfile, b.logfile + ".1")
    b.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: os.path.exists(b.logfile) and "Reopened log file" in b.log_text(), 30, "log reopen")
    assert b.stop() == 0


def test_fetch_long_poll_wakes_on_produce(broker):
    """A Fetch with min_bytes=1 and a long max_wait parks; a produce to the
    partition answers it with the new records (not an empty timeout)."""
    topic = unique("poll")
    create_topic(broker.bootstrap, topic, 1)
    fetcher = Conn(broker.port)
    result = {}

    def fetch():
        body = fetcher.request(1, 4, fetch_v4(topic, 0, 0, max_wait_ms=20000, min_bytes=1))
        result["fetch"] = parse_fetch_v4_records_len(body)

    t = threading.Thread(target=fetch)
    t.start()
    time.sleep(0.5)
    assert t.is_alive(), "fetch must wait for data"
    producer = Conn(broker.port)
    res = parse_produce_v3_response(producer.request(0, 3, produce_v3(topic, 0, batch(4))))
    assert res == [(topic, 0, 0, 0)]
    t.join(30)
    err, hw, records = result["fetch"]
    assert err == 0 and hw == 4 and len(records) > 61
    # The same connection still answers in order afterwards.
    body = fetcher.request(1, 4, fetch_v4(topic, 0, 4, max_wait_ms=100, min_bytes=1))
    assert parse_fetch_v4_records_len(body) == (0, 4, b"")
    fetcher.close()
    producer.close()


def test_topics_tool(broker):
    topic = unique("tool")
    run = lambda *a: subprocess.run([tool("samsa-topics"), "--bootstrap-server", broker.bootstrap, *a],
                                    capture_output=True, text=True, timeout=60)
    r = run("--create", "--topic", topic, "--partitions", "2", "--config", "retention.ms=5000")
    assert r.returncode == 0 and r.stdout == f"Created topic {topic}.\n"
    r = run("--create", "--topic", topic)
    assert r.returncode == 1
    # On stdout, as Kafka's TopicCommand prints it.
    assert r.stdout == f"Error while executing topic command : Topic '{topic}' already exists.\n"
    assert run("--create", "--topic", topic, "--if-not-exists").returncode == 0
    assert topic in run("--list").stdout.split("\n")
    # Kafka elects leaders asynchronously after creation; wait until it has.
    wait_for(lambda: "Leader: none" not in run("--describe", "--topic", topic).stdout, 30, "leaders")
    lines = run("--describe", "--topic", topic).stdout.split("\n")
    head = lines[0].split("\t")
    assert head[0] == f"Topic: {topic}" and head[1].startswith("TopicId: ")
    assert head[2:] == ["PartitionCount: 2", "ReplicationFactor: 1", "Configs: retention.ms=5000"]
    assert lines[1] == f"\tTopic: {topic}\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: 0"
    assert lines[2] == f"\tTopic: {topic}\tPartition: 1\tLeader: 0\tReplicas: 0\tIsr: 0"
    assert run("--delete", "--topic", topic).returncode == 0
    wait_for(lambda: topic not in run("--list").stdout.split("\n"), 30, "deletion")
    r = run("--delete", "--topic", topic)
    assert r.returncode == 1 and "does not exist" in r.stdout


def test_console_producer_and_consumer(broker):
    topic = unique("console")
    create_topic(broker.bootstrap, topic, 1)
    lines = "h1:a,h2:b\tk1:v1\nh3:c\tk2:v2\n"
    r = subprocess.run([tool("samsa-console-producer"), "--bootstrap-server", broker.bootstrap,
                        "--topic", topic, "--property", "parse.key=true", "--property", "key.separator=:",
                        "--property", "parse.headers=true"], input=lines, text=True,
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([tool("samsa-console-consumer"), "--bootstrap-server", broker.bootstrap,
                        "--topic", topic, "--from-beginning", "--max-messages", "2",
                        "--property", "print.key=true", "--property", "print.headers=true",
                        "--property", "print.offset=true"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    assert r.stdout == "Offset:0\th1:a,h2:b\tk1\tv1\nOffset:1\th3:c\tk2\tv2\n"
    assert "Processed a total of 2 messages" in r.stderr
    r = subprocess.run([tool("samsa-console-consumer"), "--bootstrap-server", broker.bootstrap,
                        "--topic", topic, "--partition", "0", "--offset", "1", "--max-messages", "1"],
                       capture_output=True, text=True, timeout=60)
    assert r.stdout == "v2\n"


def test_reregisters_after_zookeeper_session_expiry(make_broker, zk_client):
    """Freeze the broker past its session timeout: ZooKeeper expires the
    session and drops the ephemeral znodes; on waking up the broker opens a
    new session, registers again and keeps serving."""
    b = make_broker(props={"zookeeper.session.timeout.ms": "4000"}).start()
    path = f"{b.chroot}/brokers/ids/0"
    _, before = zk_client.get(path)
    b.proc.send_signal(signal.SIGSTOP)
    try:
        wait_for(lambda: not zk_client.exists(path), 60, "the session to expire")
    finally:
        b.proc.send_signal(signal.SIGCONT)
    wait_for(lambda: zk_client.exists(path) is not None, 60, "re-registration")
    _, after = zk_client.get(path)
    assert after.czxid > before.czxid, "a new registration (new broker epoch)"
    if is_samsa(b):
        assert "session expired" in b.log_text()
    topic = unique("expiry")
    create_topic(b.bootstrap, topic, 1)
    assert len(produce_acked(b.bootstrap, topic, 10, 1)) == 10
    assert b.stop() == 0


def read_checkpoint(path):
    lines = open(path).read().split("\n")
    return {tuple(l.split()[:2]): int(l.split()[2]) for l in lines[2:] if l.strip()}


def test_log_flush_interval_ms_advances_recovery_point(make_broker):
    b = make_broker(props={"log.flush.interval.ms": "100",
                           "log.flush.scheduler.interval.ms": "100",
                           "log.flush.offset.checkpoint.interval.ms": "500"}).start()
    topic = unique("flush")
    create_topic(b.bootstrap, topic, 1)
    produce_acked(b.bootstrap, topic, 100, 1)
    ckpt = os.path.join(b.logdir, "recovery-point-offset-checkpoint")
    wait_for(lambda: os.path.exists(ckpt) and read_checkpoint(ckpt).get((topic, "0")) == 100, 60,
             "the flushed offset to reach the recovery-point checkpoint")
    assert b.stop() == 0


def test_acks0_gets_no_response_and_order_holds(broker):
    """acks=0 produces are not answered; pipelined requests behind a parked
    Fetch are answered after it, in request order."""
    topic = unique("order")
    create_topic(broker.bootstrap, topic, 1)
    c = Conn(broker.port)
    from kproto import frame
    c.send_raw(frame(0, 3, 1, produce_v3(topic, 0, batch(2), acks=0)))
    c.send_raw(frame(1, 4, 2, fetch_v4(topic, 0, 2, max_wait_ms=1500, min_bytes=1)))
    c.send_raw(frame(18, 0, 3, b""))
    # The acks=0 produce has no response: the first one is the Fetch (corr 2),
    # which waited for its timeout, then ApiVersions (corr 3).
    fetch_body = c.read_response(2)
    assert parse_fetch_v4_records_len(fetch_body) == (0, 2, b"")
    c.read_response(3)
    c.close()
