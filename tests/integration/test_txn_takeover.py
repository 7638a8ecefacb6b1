"""Transactional data carried over in place: Apache Kafka 3.9.1 (and 2.8.2) writes
committed, aborted and (at the switch) still-open transactions between
plain records, across several segments; samsa then serves the same log
directory.  Every read_committed and read_uncommitted view, and the last
stable offset, equal what Kafka answered before the switch: after samsa's
clean start (Kafka's .txnindex files and producer snapshots read), after a
kill -9 (its recovered segments' aborted transactions indexed again), and
once Kafka takes the directory back."""
import pytest
from confluent_kafka import Consumer, IsolationLevel, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

from conftest import samsa_only, unique, wait_for
from test_takeover import brokers_on_one_log_dir


def write_transactions(bootstrap, topic):
    """30 transactions of 7 records, every third aborted, with plain
    records between them; then one transaction left open.  Returns the
    producer, still holding that transaction."""
    plain = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    txn = Producer({"bootstrap.servers": bootstrap, "transactional.id": unique("tid"),
                    "transaction.timeout.ms": 900000, "linger.ms": 5})
    txn.init_transactions(30)
    for t in range(30):
        txn.begin_transaction()
        for i in range(7):
            txn.produce(topic, key=b"t%d-%d" % (t, i), value=b"x" * 40, partition=0)
        txn.flush(30)
        plain.produce(topic, key=b"p%d" % t, value=b"y" * 40, partition=0)
        assert plain.flush(30) == 0
        if t % 3 == 2:
            txn.abort_transaction(30)
        else:
            txn.commit_transaction(30)
    txn.begin_transaction()
    for i in range(5):
        txn.produce(topic, key=b"open-%d" % i, value=b"z" * 40, partition=0)
    txn.flush(30)
    plain.produce(topic, key=b"after-open", value=b"y", partition=0)
    assert plain.flush(30) == 0
    return txn


def list_offset(bootstrap, topic, isolation):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    tp = TopicPartition(topic, 0)
    return admin.list_offsets({tp: OffsetSpec.latest()}, isolation_level=isolation,
                              request_timeout=30)[tp].result(30).offset


def read_view(bootstrap, topic, isolation, end):
    """(offset, key) of every record a consumer at this isolation level
    reads before offset `end`."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g"),
                  "enable.auto.commit": False, "isolation.level": isolation})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []

    def done():
        got.extend((m.offset(), m.key()) for m in c.consume(500, 0.5) if m.error() is None)
        return c.position([TopicPartition(topic, 0)])[0].offset >= end
    wait_for(done, 60, f"a {isolation} read up to offset {end}")
    c.close()
    return [r for r in got if r[0] < end]


def led(bootstrap, topic):
    """True once the partition has a leader that answers ListOffsets."""
    try:
        list_offset(bootstrap, topic, IsolationLevel.READ_UNCOMMITTED)
        return True
    except Exception:
        return False


def views(bootstrap, topic):
    wait_for(lambda: led(bootstrap, topic), 60, f"a leader for {topic}")
    lso = list_offset(bootstrap, topic, IsolationLevel.READ_COMMITTED)
    hw = list_offset(bootstrap, topic, IsolationLevel.READ_UNCOMMITTED)
    return {"lso": lso, "hw": hw,
            "read_committed": read_view(bootstrap, topic, "read_committed", lso),
            "read_uncommitted": read_view(bootstrap, topic, "read_uncommitted", hw)}


@samsa_only
@pytest.mark.parametrize("kafka_version", ["3.9.1", "2.8.2"])
def test_transactions_kafka_wrote_read_the_same_on_samsa(zookeeper, tmp_path, kafka_version):
    kafka, samsa = brokers_on_one_log_dir(zookeeper, tmp_path, kafka_version)
    topic = unique("txn")
    txn = None
    try:
        kafka.start()
        admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
        admin.create_topics([NewTopic(topic, 1, 1, config={"segment.bytes": "4096"})])[topic].result(30)
        txn = write_transactions(kafka.bootstrap, topic)
        before = views(kafka.bootstrap, topic)
        # The open transaction holds the stable offset back; aborted and
        # open records are missing from the committed view.
        assert before["lso"] < before["hw"]
        keys = {k for _, k in before["read_committed"]}
        assert b"t2-0" not in keys and b"t0-0" in keys and b"p29" in keys
        assert b"open-0" not in keys and b"after-open" not in keys
        assert len(before["read_uncommitted"]) == 30 * 8 + 6
        assert kafka.stop() == 0
        txn = None          # its transaction stays open in the log

        samsa.start()
        assert views(samsa.bootstrap, topic) == before
        samsa.kill9()
        samsa.start()
        assert views(samsa.bootstrap, topic) == before
        assert samsa.stop() == 0

        kafka.start()
        assert views(kafka.bootstrap, topic) == before
        assert kafka.stop() == 0
    finally:
        kafka.stop()
        samsa.stop()
        samsa.assert_no_sanitizer_reports()
