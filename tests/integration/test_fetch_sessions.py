"""Fetch sessions (KIP-227), checked request by request against samsa and
Kafka (SAMSA_TEST_TARGET=kafka) with Fetch v7 from kafka-python's protocol
classes: a full fetch opens a session, an incremental fetch answers only
partitions with news (records, a new high watermark), forgotten partitions
stay silent, and unknown sessions or wrong epochs get Kafka's errors.
kafka-python's and the Java consumer's own session handling is exercised by
every other consumer test."""

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka.protocol.fetch import FetchRequest, FetchResponse

from conftest import unique, wait_for
from kproto import Conn

V = 7


def fetch(conn, session_id, epoch, parts, forgotten=(), max_wait=100):
    """parts: [(topic, partition, offset)]; returns (error, session, {(t, p): (hw, n_bytes)})."""
    topics = {}
    for t, p, off in parts:
        topics.setdefault(t, []).append((p, off, -1, 1 << 20))
    forgot = {}
    for t, p in forgotten:
        forgot.setdefault(t, []).append(p)
    req = FetchRequest[V](replica_id=-1, max_wait_time=max_wait, min_bytes=1, max_bytes=1 << 20,
                          isolation_level=0, session_id=session_id, session_epoch=epoch,
                          topics=list(topics.items()), forgotten_topics_data=list(forgot.items()))
    body = conn.request(1, V, req.encode())
    resp = FetchResponse[V].decode(body)
    out = {}
    for topic, partitions in resp.topics:
        for pd in partitions:
            p, err, hw = pd[0], pd[1], pd[2]
            out[(topic, p)] = (err, hw, len(pd[-1] or b""))
    return resp.error_code, resp.session_id, out


def produce(bootstrap, topic, partition, n):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(n):
        p.produce(topic, value=b"x" * 10, partition=partition)
    assert p.flush(30) == 0


def test_incremental_fetch_answers_only_news(broker):
    topic = unique("sess")
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(30)
    wait_for(lambda: len(admin.list_topics(topic, timeout=10).topics[topic].partitions) == 2, 30,
             "the topic")
    produce(broker.bootstrap, topic, 0, 5)
    conn = Conn(broker.port)
    try:
        # A full fetch (epoch 0) opens a session and answers every partition.
        err, sid, parts = fetch(conn, 0, 0, [(topic, 0, 5), (topic, 1, 0)])
        assert err == 0 and sid != 0
        assert parts == {(topic, 0): (0, 5, 0), (topic, 1): (0, 0, 0)}
        # Nothing new: an incremental fetch names no partition.
        err, sid2, parts = fetch(conn, sid, 1, [])
        assert (err, sid2, parts) == (0, sid, {})
        # Records on partition 1: only it is answered, from the cached offset.
        produce(broker.bootstrap, topic, 1, 3)
        err, _, parts = fetch(conn, sid, 2, [])
        assert list(parts) == [(topic, 1)] and parts[(topic, 1)][:2] == (0, 3)
        assert parts[(topic, 1)][2] > 0
        # The client moves partition 1 on; partition 0 gets records and a new HW.
        produce(broker.bootstrap, topic, 0, 2)
        err, _, parts = fetch(conn, sid, 3, [(topic, 1, 3)])
        assert list(parts) == [(topic, 0)] and parts[(topic, 0)][:2] == (0, 7)
        # A forgotten partition is not answered any more.
        produce(broker.bootstrap, topic, 0, 1)
        err, _, parts = fetch(conn, sid, 4, [(topic, 0, 7)], forgotten=[(topic, 0)])
        assert (err, parts) == (0, {})
        # A wrong epoch, an unknown session: Kafka's errors, no partitions.
        assert fetch(conn, sid, 9, [])[:3] == (71, 0, {})
        assert fetch(conn, sid ^ 0x5a5a5, 1, [])[:3] == (70, 0, {})
        # The session still works at its epoch; epoch -1 closes it.
        assert fetch(conn, sid, 5, [])[:2] == (0, sid)
        err, sid3, parts = fetch(conn, sid, -1, [(topic, 1, 0)])
        assert err == 0 and sid3 == 0 and parts[(topic, 1)][:2] == (0, 3)
        assert fetch(conn, sid, 6, [])[0] == 70
    finally:
        conn.close()
