"""Consumers that read only legacy message sets (Fetch v0-v3: magic 0 for
v0-v1, magic 1 for v2-v3), as Kafka 3.9 still serves them by
down-converting: kafka-python pinned to old protocol versions and
librdkafka with its version fallback read back exactly what a modern
producer wrote, uncompressed and with every codec old clients know, with
transaction markers left out.  Kafka's refusals for zstd topics and for
message.downconversion.enable=false are compared raw.  Runs against Kafka
too (SAMSA_TEST_TARGET=kafka)."""
import struct

import pytest

from conftest import unique
from kproto import Conn, kstr


def create(b, topic, configs=None):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1, config=configs or {})])[topic].result(30)


def produce(b, topic, codec, n, first=0):
    """n records in batches of 10; their (offset, key, value, timestamp)."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": b.bootstrap, "compression.type": codec,
                  "linger.ms": 100, "batch.num.messages": 10})
    out = []
    for i in range(first, first + n):
        p.produce(topic, key=b"k%d" % i if i % 3 else None, value=b"value-%d" % i * 3,
                  partition=0, timestamp=1700000000000 + i,
                  on_delivery=lambda e, m: out.append((m.offset(), m.key(), m.value(),
                                                       m.timestamp()[1])))
    assert p.flush(30) == 0
    return sorted(out)


def kafka_python_read(b, topic, api_version, count):
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=b.bootstrap, api_version=api_version,
                      auto_offset_reset="earliest", enable_auto_commit=False,
                      consumer_timeout_ms=10000)
    c.assign([TopicPartition(topic, 0)])
    got = []
    for m in c:
        got.append((m.offset, m.key, m.value, m.timestamp))
        if len(got) >= count:
            break
    c.close()
    return got


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4"])
def test_kafka_python_with_old_fetch_versions_reads_what_was_produced(broker, codec):
    topic = unique("old-" + codec)
    create(broker, topic)
    produced = produce(broker, topic, codec, 45)
    # Fetch v3 and v2 read magic 1 (timestamps kept), v1 magic 0 (none).
    for version in [(0, 10, 1), (0, 10, 0)]:
        assert kafka_python_read(broker, topic, version, 45) == produced, version
    got = kafka_python_read(broker, topic, (0, 9), 45)
    assert [g[:3] for g in got] == [p[:3] for p in produced]
    assert all(g[3] in (None, -1) for g in got), got[:3]


def test_librdkafka_with_its_version_fallback_skips_transaction_markers(broker):
    """A transactional producer's records (and its commit marker) read by
    librdkafka pinned to 0.10.0 (Fetch v2, magic 1)."""
    from confluent_kafka import Consumer, Producer
    topic = unique("old-txn")
    create(broker, topic)
    p = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": unique("tx")})
    p.init_transactions(30)
    p.begin_transaction()
    for i in range(5):
        p.produce(topic, key=b"t%d" % i, value=b"txn-%d" % i, partition=0)
    p.commit_transaction(30)
    tail = produce(broker, topic, "gzip", 5, first=100)
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("g"),
                  "api.version.request": False, "broker.version.fallback": "0.10.0",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    from confluent_kafka import TopicPartition
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    import time
    deadline = time.time() + 30
    while len(got) < 10 and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append((m.offset(), m.key(), m.value()))
    c.close()
    assert got == [(i, b"t%d" % i, b"txn-%d" % i) for i in range(5)] + \
        [(o, k, v) for o, k, v, _ in tail]
    # The commit marker took one offset (before the later records or among
    # them: Kafka writes markers after answering EndTxn) and is not read.
    offsets = [o for o, _, _ in got]
    assert len(set(range(11)) - set(offsets)) == 1 and min(set(range(11)) - set(offsets)) >= 5


def fetch_v0(topic, offset):
    body = struct.pack(">iii", -1, 100, 1) + struct.pack(">i", 1) + kstr(topic)
    return body + struct.pack(">i", 1) + struct.pack(">iqi", 0, offset, 1 << 20)


def fetch_v0_error(port, topic):
    c = Conn(port)
    try:
        body = c.request(1, 0, fetch_v0(topic, 0))
    finally:
        c.close()
    (tl,) = struct.unpack_from(">h", body, 4)
    part, err = struct.unpack_from(">ih", body, 4 + 2 + tl + 4)
    return part, err


def test_refusals_as_kafka(broker):
    zstd, disabled, fine = unique("old-zstd"), unique("old-off"), unique("old-ok")
    create(broker, zstd, {"compression.type": "zstd"})
    create(broker, disabled, {"message.downconversion.enable": "false"})
    create(broker, fine)
    for t in (zstd, disabled, fine):
        produce(broker, t, "none", 3)
    assert fetch_v0_error(broker.port, zstd) == (0, 76)        # UNSUPPORTED_COMPRESSION_TYPE
    assert fetch_v0_error(broker.port, disabled) == (0, 35)    # UNSUPPORTED_VERSION
    assert fetch_v0_error(broker.port, fine) == (0, 0)
