"""Log compaction as Kafka does it, compared key by key: after the cleaner
has caught up, every key has exactly its latest record (tombstones kept
until delete.retention.ms), with a dedupe buffer so small that the cleaner
needs several rounds, and values written compressed and uncompressed."""
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import high_watermark, is_samsa, unique, wait_for
from test_clients import create_topic

KEYS = 100_000          # > 39,321: the keys one round's map holds with a 1 MiB buffer
BUFFER = 1024 * 1024 + 1    # Kafka's minimum (it must exceed 1 MiB per cleaner thread)


def produce(bootstrap, topic, items, compression="none"):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.size": 65536,
                  "compression.type": compression, "acks": "all"})
    for k, v in items:
        while True:
            try:
                p.produce(topic, key=k, value=v, partition=0)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    assert p.flush(60) == 0


def read_all(bootstrap, topic):
    """Every record of partition 0 up to the high watermark: key -> values."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g"),
                  "enable.auto.commit": False, "enable.partition.eof": True,
                  "fetch.max.bytes": 8 << 20})
    high = high_watermark(c, topic)
    c.assign([TopicPartition(topic, 0, 0)])
    seen, last = {}, -1
    deadline = time.time() + 60
    while last + 1 < high and time.time() < deadline:
        for m in c.consume(10000, 1.0):
            if m.error():
                continue
            seen.setdefault(m.key(), []).append(m.value())
            last = m.offset()
    c.close()
    assert last + 1 >= high, "could not read the partition to its end"
    return seen


def settled(bootstrap, topic, expected):
    seen = read_all(bootstrap, topic)
    return all(len(seen.get(k, [])) == 1 for k in expected), seen


def compacted_to(bootstrap, topic, keys, expected, what):
    """Waits until every key has one value left, then checks each is the
    expected one; returns what was read."""
    state = {}

    def done():
        ok, state["seen"] = settled(bootstrap, topic, expected)
        return ok
    wait_for(done, 240, what)
    seen = state["seen"]
    wrong = [k for k in keys if seen[k] != [expected[k]]]
    assert not wrong, f"{len(wrong)} keys differ, e.g. {wrong[0]}: {seen[wrong[0]][:3]}"
    return seen


def test_compaction_keeps_exactly_the_latest_record_of_each_key(make_broker):
    b = make_broker(props={"log.cleaner.backoff.ms": "500",
                           "log.cleaner.dedupe.buffer.size": str(BUFFER)}).start()
    topic = unique("compact")
    create_topic(b.bootstrap, topic, 1, {"cleanup.policy": "compact", "segment.bytes": "1048576",
                                         "min.cleanable.dirty.ratio": "0.01"})
    keys = [b"k%06d" % i for i in range(KEYS)]
    produce(b.bootstrap, topic, [(k, b"first-" + k) for k in keys])
    produce(b.bootstrap, topic, [(k, b"second-" + k) for k in keys], compression="lz4")
    deleted = set(keys[::10])
    produce(b.bootstrap, topic, [(k, None) for k in sorted(deleted)])
    # Distinct filler keys push everything above out of the active segment.
    produce(b.bootstrap, topic, [(b"f%07d" % i, b"x" * 40) for i in range(40_000)])
    expected = {k: (None if k in deleted else b"second-" + k) for k in keys}

    compacted_to(b.bootstrap, topic, keys, expected, "the cleaner to catch up")
    if is_samsa(b):
        text = b.log_text()
        rounds = text.count(f"Cleaned {topic}-0 up to offset")
        assert rounds >= 5, f"expected several cleaning rounds, saw {rounds}"
    # The compacted log survives a restart unchanged.
    assert b.stop() == 0
    b.start()
    again = read_all(b.bootstrap, topic)
    assert {k: again[k] for k in keys} == {k: [expected[k]] for k in keys}


def read_committed_all(bootstrap, topic, end):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g"),
                  "enable.auto.commit": False, "isolation.level": "read_committed",
                  "fetch.max.bytes": 8 << 20})
    c.assign([TopicPartition(topic, 0, 0)])
    seen = {}
    deadline = time.time() + 60
    while c.position([TopicPartition(topic, 0)])[0].offset < end and time.time() < deadline:
        for m in c.consume(10000, 1.0):
            if not m.error():
                seen.setdefault(m.key(), []).append(m.value())
    c.close()
    return seen


def transact(bootstrap, tid, topic, items, commit):
    t = Producer({"bootstrap.servers": bootstrap, "transactional.id": tid, "linger.ms": 20})
    t.init_transactions(60)
    t.begin_transaction()
    for k, v in items:
        t.produce(topic, key=k, value=v, partition=0)
    t.flush(60)
    if commit:
        t.commit_transaction(60)
    else:
        t.abort_transaction(60)


def test_compaction_drops_aborted_transactions_and_keeps_committed_values(make_broker):
    """2,000 keys committed in a transaction, then an aborted transaction
    over all of them, then a committed update of every fifth key: after
    compaction every key has exactly its committed value, read_committed
    and read_uncommitted alike (the aborted records are gone), and a
    restart changes nothing."""
    b = make_broker(props={"log.cleaner.backoff.ms": "500"}).start()
    topic = unique("compact-txn")
    create_topic(b.bootstrap, topic, 1, {"cleanup.policy": "compact", "segment.bytes": "65536",
                                         "min.cleanable.dirty.ratio": "0.01"})
    keys = [b"k%05d" % i for i in range(2000)]
    tid = unique("tid")
    transact(b.bootstrap, tid, topic, [(k, b"committed-" + k) for k in keys], True)
    transact(b.bootstrap, tid, topic, [(k, b"aborted-" + k) for k in keys], False)
    updated = set(keys[::5])
    transact(b.bootstrap, tid, topic, [(k, b"updated-" + k) for k in sorted(updated)], True)
    produce(b.bootstrap, topic, [(b"f%07d" % i, b"x" * 40) for i in range(20_000)])
    expected = {k: (b"updated-" if k in updated else b"committed-") + k for k in keys}
    compacted_to(b.bootstrap, topic, keys, expected, "the cleaner to remove the aborted transaction")
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": unique("g")})
    _, end = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    c.close()
    committed = read_committed_all(b.bootstrap, topic, end)
    assert {k: committed.get(k) for k in keys} == {k: [expected[k]] for k in keys}
    assert b.stop() == 0
    b.start()
    again = read_all(b.bootstrap, topic)
    assert {k: again[k] for k in keys} == {k: [expected[k]] for k in keys}


def test_cleaner_backoff_changes_at_runtime(make_broker):
    """log.cleaner.backoff.ms is a dynamic broker key (Kafka's
    LogCleaner.reconfigure): with ten minutes in server.properties nothing is
    cleaned, and setting it to half a second as a cluster default makes the
    cleaner run without a restart."""
    from kproto import Conn, incremental_alter_configs_v0
    b = make_broker(props={"log.cleaner.backoff.ms": "600000"}).start()
    topic = unique("compact-dyn")
    create_topic(b.bootstrap, topic, 1, {"cleanup.policy": "compact", "segment.bytes": "65536",
                                         "min.cleanable.dirty.ratio": "0.01"})
    keys = [b"k%04d" % i for i in range(500)]
    produce(b.bootstrap, topic, [(k, b"first-" + k) for k in keys])
    produce(b.bootstrap, topic, [(k, b"second-" + k) for k in keys])
    produce(b.bootstrap, topic, [(b"f%06d" % i, b"x" * 40) for i in range(5_000)])
    expected = {k: b"second-" + k for k in keys}
    time.sleep(5)
    ok, seen = settled(b.bootstrap, topic, expected)
    assert not ok and all(seen[k] == [b"first-" + k, b"second-" + k] for k in keys), \
        "cleaned although the backoff had not passed"
    c = Conn(b.port)
    try:
        assert incremental_alter_configs_v0(c, [(4, "", [("log.cleaner.backoff.ms", 0, "500")])]) \
            == [(0, None)]
    finally:
        c.close()
    compacted_to(b.bootstrap, topic, keys, expected, "the cleaner to run with the new backoff")
