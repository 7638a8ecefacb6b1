"""The API versions samsa advertises against Kafka 3.9.1's, and what the
newest versions add: DeleteTopics v6 (topics by id), ListGroups v5 (group
types), FindCoordinator v6 (share groups, which Kafka 3.9 does not
coordinate)."""
import struct
import uuid

import pytest
from confluent_kafka import ConsumerGroupType, Consumer, TopicCollection, TopicPartition
from confluent_kafka.admin import AdminClient

from conftest import TARGET, unique, wait_for
from kproto import Conn, call, compact_str, read_compact_str, read_uvarint, uvarint
from servers import KafkaBroker
from test_clients import create_topic

# What Kafka 3.9.1 (ZooKeeper mode) serves and samsa does not, each with
# the reason.  A change on either side fails the test until this is updated.
NOT_SERVED = {
}
# Served with a narrower range than Kafka's, and why.
NARROWER = {
}


def api_versions(port):
    from kafka.protocol.api_versions import ApiVersionsRequest
    c = Conn(port)
    try:
        return {k: (lo, hi) for k, lo, hi in call(c, ApiVersionsRequest[2]()).api_versions}
    finally:
        c.close()


def api_versions_v3_bytes(port):
    c = Conn(port)
    try:
        return c.request(18, 3, b"\x00" + compact_str("samsa-test") + compact_str("1.0") + b"\x00")
    finally:
        c.close()


@pytest.mark.skipif(TARGET != "samsa", reason="compares samsa with Kafka in one run")
def test_api_versions_match_kafka(broker, zookeeper, tmp_path):
    k = KafkaBroker(zookeeper.connect, str(tmp_path)).start()
    try:
        kafka = api_versions(k.port)
        kafka_v3 = api_versions_v3_bytes(k.port)
    finally:
        k.stop()
    samsa = api_versions(broker.port)
    # The whole v3 answer, byte for byte: keys in Kafka's order, and the
    # finalized features epoch of a fresh /feature.
    assert api_versions_v3_bytes(broker.port) == kafka_v3
    assert {key for key in kafka if key not in samsa} == set(NOT_SERVED)
    assert not set(samsa) - set(kafka), "samsa serves a key Kafka does not"
    for key, (lo, hi) in samsa.items():
        expected = NARROWER[key][0] if key in NARROWER else kafka[key]
        assert (lo, hi) == expected, (key, (lo, hi), kafka[key])


def flexible_call(port, api_key, version, body):
    """One flexible request on a connection of its own: the response body."""
    c = Conn(port)
    try:
        return c.flexible_request(api_key, version, body)
    finally:
        c.close()


def delete_topics_v6(port, entries, timeout_ms=30000):
    """entries: [(name or None, uuid.UUID or None)]; returns [(name, id,
    error)]."""
    body = uvarint(len(entries) + 1)
    for name, tid in entries:
        body += compact_str(name) + (tid.bytes if tid else bytes(16)) + b"\x00"
    body += struct.pack(">i", timeout_ms) + b"\x00"
    r, at = flexible_call(port, 20, 6, body), 4
    n, at = read_uvarint(r, at)
    out = []
    for _ in range(n - 1):
        name, at = read_compact_str(r, at)
        tid = uuid.UUID(bytes=r[at:at + 16])
        at += 16
        (err,) = struct.unpack_from(">h", r, at)
        _, at = read_compact_str(r, at + 2)
        _, at = read_uvarint(r, at)
        out.append((name, tid, err))
    return out


def topic_id(bootstrap, topic):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    desc = admin.describe_topics(TopicCollection([topic]))[topic].result(30)
    u = desc.topic_id
    return uuid.UUID(int=((u.get_most_significant_bits() & (2**64 - 1)) << 64) |
                     (u.get_least_significant_bits() & (2**64 - 1)))


def test_delete_topics_by_id(broker):
    topic = unique("byid")
    create_topic(broker.bootstrap, topic, 1)
    tid = topic_id(broker.bootstrap, topic)
    unknown = uuid.uuid4()
    assert delete_topics_v6(broker.port, [(topic, tid)]) == [(topic, tid, 42)]
    assert delete_topics_v6(broker.port, [(None, unknown)]) == [(None, unknown, 100)]
    assert delete_topics_v6(broker.port, [(None, tid)]) == [(topic, tid, 0)]
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    wait_for(lambda: topic not in admin.list_topics(timeout=10).topics, 30, "the topic gone")


def test_list_groups_by_type(broker):
    topic, group = unique("types"), unique("g")
    create_topic(broker.bootstrap, topic, 1)
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
    c.commit(offsets=[TopicPartition(topic, 0, 5)], asynchronous=False)
    c.close()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})

    def listed(types):
        res = admin.list_consumer_groups(types=types).result(30)
        return {g.group_id: g.type for g in res.valid}
    assert listed({ConsumerGroupType.CLASSIC}).get(group) == ConsumerGroupType.CLASSIC
    assert group not in listed({ConsumerGroupType.CONSUMER})
    assert listed(set()).get(group) == ConsumerGroupType.CLASSIC


def find_coordinator_v6(port, key_type, keys):
    body = struct.pack(">b", key_type) + uvarint(len(keys) + 1)
    body += b"".join(compact_str(k) for k in keys) + b"\x00"
    r, at = flexible_call(port, 10, 6, body), 4
    n, at = read_uvarint(r, at)
    out = []
    for _ in range(n - 1):
        key, at = read_compact_str(r, at)
        node, = struct.unpack_from(">i", r, at)
        _, at = read_compact_str(r, at + 4)
        at += 4
        (err,) = struct.unpack_from(">h", r, at)
        _, at = read_compact_str(r, at + 2)
        _, at = read_uvarint(r, at)
        out.append((key, node, err))
    return out


def test_find_share_coordinator(broker):
    """Kafka 3.9 has no share coordinator: COORDINATOR_NOT_AVAILABLE (15)."""
    assert find_coordinator_v6(broker.port, 2, ["sg"]) == [("sg", -1, 15)]
