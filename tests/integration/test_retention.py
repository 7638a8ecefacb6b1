"""Retention and the log start offset, compared exactly with Kafka: whole
segments past retention.ms or retention.bytes are deleted, fetches below
the new log start get OFFSET_OUT_OF_RANGE, and DeleteRecords moves the log
start offset (kept across a restart).  Batches are hand-built so their
sizes, and so the segment boundaries, are the same on both brokers."""
import os
import struct
import time

import pytest
from kafka.protocol.admin import DeleteRecordsRequest

from conftest import unique, wait_for
from kproto import (Conn, batch, call, create_topics_v0, fetch_v4, parse_create_topics_v0,
                    parse_fetch_v4_records_len, parse_produce_v3_response, produce_v3)

ONE = batch(1)                  # one record, 2023 timestamp
B = len(ONE)                    # bytes each such batch takes in a segment
OFFSET_OUT_OF_RANGE = 1


@pytest.fixture
def rbroker(make_broker):
    """A broker that checks retention every second (Kafka: after its first
    30 s)."""
    return make_broker(props={"log.retention.check.interval.ms": "1000"}).start()


def make_topic(b, name, configs):
    """CreateTopics v0; a broker that has just started may not count itself
    among the live brokers yet (INVALID_REPLICATION_FACTOR)."""
    c = Conn(b.port)
    deadline = time.time() + 30
    while True:
        err = parse_create_topics_v0(c.request(19, 0, create_topics_v0(name, 1, 1, configs)))[name]
        if err != 38 or time.time() > deadline:
            break
        time.sleep(0.2)
    c.close()
    assert err == 0


def produce(b, topic, batches):
    c = Conn(b.port)
    offsets = []
    for data in batches:
        res = parse_produce_v3_response(c.request(0, 3, produce_v3(topic, 0, data)))
        assert res[0][2] == 0, res
        offsets.append(res[0][3])
    c.close()
    return offsets


def list_offset(b, topic, ts):
    """ListOffsets v1: -2 earliest, -1 latest."""
    from kproto import kstr
    c = Conn(b.port)
    body = struct.pack(">ii", -1, 1) + kstr(topic) + struct.pack(">iiq", 1, 0, ts)
    for _ in range(100):
        resp = c.request(2, 1, body)
        pos = 4 + 2 + len(topic) + 4
        _part, err, _ts, off = struct.unpack_from(">ihqq", resp, pos)
        if err == 0:
            break
        time.sleep(0.1)
    c.close()
    assert err == 0
    return off


def fetch_error(b, topic, offset):
    c = Conn(b.port)
    err, _hw, _records = parse_fetch_v4_records_len(c.request(1, 4, fetch_v4(topic, 0, offset, 0, 0)))
    c.close()
    return err


def segment_bases(b, topic):
    d = os.path.join(b.logdir, f"{topic}-0")
    return sorted(int(f[:20]) for f in os.listdir(d) if f.endswith(".log"))


def test_segments_past_retention_ms_are_deleted(rbroker):
    b = rbroker
    topic = unique("ret-ms")
    make_topic(b, topic, {"segment.bytes": str(3 * B), "retention.ms": "86400000"})
    # Nine 2023 batches fill three segments; two current ones start a fourth.
    assert produce(b, topic, [ONE] * 9) == list(range(9))
    now = int(time.time() * 1000)
    assert produce(b, topic, [batch(1, timestamp=now)] * 2) == [9, 10]
    wait_for(lambda: list_offset(b, topic, -2) == 9, 120, "time retention")
    assert list_offset(b, topic, -1) == 11
    assert fetch_error(b, topic, 4) == OFFSET_OUT_OF_RANGE
    assert fetch_error(b, topic, 9) == 0
    wait_for(lambda: segment_bases(b, topic) == [9], 120, "the files of deleted segments")

    # A log whose every record is too old keeps one new, empty segment.
    old = unique("ret-all")
    make_topic(b, old, {"segment.bytes": str(3 * B), "retention.ms": "86400000"})
    produce(b, old, [ONE] * 5)
    wait_for(lambda: list_offset(b, old, -2) == 5, 120, "time retention of every segment")
    assert list_offset(b, old, -1) == 5
    assert produce(b, old, [ONE]) == [5]


def test_segments_beyond_retention_bytes_are_deleted(rbroker):
    b = rbroker
    topic = unique("ret-bytes")
    make_topic(b, topic, {"segment.bytes": str(3 * B), "retention.bytes": str(7 * B),
                          "retention.ms": "-1"})
    produce(b, topic, [ONE] * 20)
    # 20 batches: six full segments of three and an active one of two.  The
    # log is 13 batches over the limit, so four whole segments (12) go.
    wait_for(lambda: list_offset(b, topic, -2) == 12, 120, "size retention")
    assert list_offset(b, topic, -1) == 20
    assert fetch_error(b, topic, 11) == OFFSET_OUT_OF_RANGE


def delete_records(b, topic, partition, offset, timeout_ms=30000):
    c = Conn(b.port)
    r = call(c, DeleteRecordsRequest[0]([(topic, [(partition, offset)])], timeout_ms))
    c.close()
    ((_name, ((_part, low, err),)),) = r.topics
    return err, low


def test_delete_records_moves_the_log_start_offset(rbroker):
    b = rbroker
    topic, compacted = unique("delrec"), unique("delrec-compact")
    make_topic(b, topic, {})
    make_topic(b, compacted, {"cleanup.policy": "compact"})
    now = int(time.time() * 1000)
    produce(b, topic, [batch(10, timestamp=now)])
    produce(b, compacted, [batch(3, timestamp=now)])
    assert delete_records(b, topic, 0, 7) == (0, 7)
    assert list_offset(b, topic, -2) == 7
    assert fetch_error(b, topic, 6) == OFFSET_OUT_OF_RANGE
    # Fetching from the log start returns the batch holding it (offset 0);
    # the client skips records below 7.
    from confluent_kafka import Consumer, TopicPartition
    cons = Consumer({"bootstrap.servers": b.bootstrap, "group.id": unique("g"),
                     "auto.offset.reset": "earliest", "enable.auto.commit": False})
    cons.assign([TopicPartition(topic, 0, -2)])
    got = []
    deadline = time.time() + 30
    while len(got) < 3 and time.time() < deadline:
        for m in cons.consume(10, 1.0):
            assert m.error() is None
            got.append((m.offset(), m.key()))
    cons.close()
    assert got == [(7, b"k7"), (8, b"k8"), (9, b"k9")]
    # Never backwards; beyond the high watermark; -1 is the high watermark.
    assert delete_records(b, topic, 0, 3) == (0, 7)
    assert delete_records(b, topic, 0, 11) == (OFFSET_OUT_OF_RANGE, -1)
    assert delete_records(b, topic, 0, -1) == (0, 10)
    assert delete_records(b, topic, 5, 1) == (3, -1)              # UNKNOWN_TOPIC_OR_PARTITION
    assert delete_records(b, compacted, 0, 1) == (44, -1)         # POLICY_VIOLATION
    assert delete_records(b, "__consumer_offsets", 0, 0) == (17, -1)  # INVALID_TOPIC_EXCEPTION
    assert delete_records(b, unique("nosuch"), 0, 0) == (3, -1)
    # The log start offset survives a restart (log-start-offset-checkpoint).
    assert b.stop() == 0
    b.start()
    assert list_offset(b, topic, -2) == 10
    assert list_offset(b, topic, -1) == 10


def test_delete_records_and_retention_reach_every_replica(zookeeper, tmp_path):
    """With three replicas DeleteRecords answers once every follower's log
    start offset has caught up (the low watermark); each replica then
    deletes the segments below it, and a new leader keeps it."""
    from cluster import Cluster
    from conftest import TARGET
    kind = "samsa" if TARGET == "samsa" else "kafka"
    c = Cluster(zookeeper, str(tmp_path), [kind] * 3,
                props={"log.retention.check.interval.ms": "1000", "replica.lag.time.max.ms": "4000",
                       "zookeeper.session.timeout.ms": "6000"}).start()
    try:
        topic = unique("delrec-rep")
        any_broker = c.broker(c.live_ids()[0])
        c3 = Conn(any_broker.port)
        deadline = time.time() + 30
        while True:
            err = parse_create_topics_v0(c3.request(19, 0, create_topics_v0(
                topic, 1, 3, {"segment.bytes": str(3 * B), "min.insync.replicas": "3"})))[topic]
            if err != 38 or time.time() > deadline:
                break
            time.sleep(0.2)
        c3.close()
        assert err == 0
        wait_for(lambda: c.partition_state(topic, 0) and len(c.partition_state(topic, 0)["isr"]) == 3,
                 60, "a full ISR")
        leader = c.broker(c.leader(topic, 0))
        now = int(time.time() * 1000)
        conn = Conn(leader.port)
        for i in range(12):
            res = parse_produce_v3_response(conn.request(0, 3, produce_v3(topic, 0, batch(1, timestamp=now), acks=-1)))
            assert res[0][2:] == (0, i), res
        conn.close()
        assert delete_records(leader, topic, 0, 7) == (0, 7)
        # Segments [0-2] [3-5] [6-8] [9-11]: the first two lie below 7.
        for i in range(3):
            wait_for(lambda: segment_bases(c.broker(i), topic) == [6, 9], 120,
                     f"broker {i} to delete the segments below the log start offset")
        old = c.leader(topic, 0)
        c.kill9(old)
        wait_for(lambda: c.leader(topic, 0) not in (old, None, -1), 30, "a new leader")
        assert list_offset(c.broker(c.leader(topic, 0)), topic, -2) == 7
    finally:
        c.stop()
