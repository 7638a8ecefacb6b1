"""Exact reads by time, as Kafka answers them: ListOffsets for a timestamp
gives the first record whose timestamp is >= the target (searched inside
the batch the time index points to, not the batch's base offset), -3 the
first record carrying the largest timestamp, each with its batch's leader
epoch.  Timestamps wander within batches and across segments, so the time
index alone cannot answer.  Every answer is compared with the one computed
from the records read back, before and after a restart (which reads the
sealed segments' time indexes from disk)."""
import random

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

from conftest import unique, wait_for

BASE_TS = 1_700_000_000_000
SMALL_SEGMENTS = {"segment.bytes": "8192", "index.interval.bytes": "512"}


def wandering_timestamps(n, seed):
    """A rising trend with jitter wider than a batch, and the largest
    timestamp three times (the answer to -3 is the first of them)."""
    rnd = random.Random(seed)
    ts = [BASE_TS + i * 20 + rnd.randrange(-700, 700) for i in range(n)]
    top = max(ts) + 5
    for i in (n // 3, n // 2, n - 5):
        ts[i] = top
    return ts


def produce_all(bootstrap, topic, timestamps, compression):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.num.messages": 25,
                  "compression.type": compression, "acks": "all"})
    for i, ts in enumerate(timestamps):
        p.produce(topic, key=b"k%d" % i, value=b"value-%d" % i, timestamp=ts, partition=0)
        if i % 200 == 0:
            p.flush(30)
    assert p.flush(30) == 0


def read_back(bootstrap, topic, n):
    """(offset, timestamp, leader epoch) of every record, in offset order."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g"), "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []

    def more():
        for m in c.consume(500, 0.5):
            if m.error() is None:
                epoch = m.leader_epoch()
                got.append((m.offset(), m.timestamp()[1], -1 if epoch is None else epoch))
        return len(got) >= n
    wait_for(more, 60, f"{n} records")
    c.close()
    assert [r[0] for r in got] == list(range(n))
    return got


def expected_for_time(records, target):
    for r in records:
        if r[1] >= target:
            return r[0], r[1], r[2]
    return -1, -1, -1


def expected_max(records):
    top = max(r[1] for r in records)
    return next((r[0], r[1], r[2]) for r in records if r[1] == top)


def list_offset(admin, topic, spec, isolation=None):
    tp = TopicPartition(topic, 0)
    kw = {"isolation_level": isolation} if isolation is not None else {}
    info = admin.list_offsets({tp: spec}, request_timeout=30, **kw)[tp].result(30)
    epoch = -1 if info.leader_epoch is None else info.leader_epoch
    return info.offset, info.timestamp, epoch


def answers(bootstrap, topic, targets):
    """Every lookup of targets, then -3, -2 and -1."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    got = {t: list_offset(admin, topic, OffsetSpec.for_timestamp(t)) for t in targets}
    got["max"] = list_offset(admin, topic, OffsetSpec.max_timestamp())
    got["earliest"] = list_offset(admin, topic, OffsetSpec.earliest())
    got["latest"] = list_offset(admin, topic, OffsetSpec.latest())
    return got


def expected_answers(records, targets, epoch):
    want = {t: expected_for_time(records, t) for t in targets}
    want["max"] = expected_max(records)
    want["earliest"] = (0, -1, records[0][2])
    want["latest"] = (len(records), -1, epoch)
    return want


def targets_for(records, seed):
    """Random times across the range and just past either end, and every
    boundary a record's own timestamp makes."""
    rnd = random.Random(seed)
    lo, hi = min(r[1] for r in records), max(r[1] for r in records)
    picked = {rnd.randrange(lo - 50, hi + 50) for _ in range(250)}
    picked |= {r[1] for r in rnd.sample(records, 50)} | {r[1] + 1 for r in rnd.sample(records, 50)}
    return sorted(picked | {lo, lo - 1, hi, hi + 1})


def assert_same(got, want):
    wrong = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
    assert not wrong, f"{len(wrong)} of {len(want)} lookups differ (got, want): " + \
        str(dict(list(wrong.items())[:10]))


@pytest.mark.parametrize("compression,timestamp_type", [
    ("none", "CreateTime"), ("lz4", "CreateTime"), ("zstd", "LogAppendTime")])
def test_offsets_for_times_answer_the_first_record_at_or_after(make_broker, compression,
                                                              timestamp_type):
    b = make_broker().start()
    topic = unique("lookup")
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    configs = dict(SMALL_SEGMENTS, **{"message.timestamp.type": timestamp_type})
    admin.create_topics([NewTopic(topic, 1, 1, config=configs)])[topic].result(30)
    n = 1500
    produce_all(b.bootstrap, topic, wandering_timestamps(n, 7), compression)
    records = read_back(b.bootstrap, topic, n)
    if timestamp_type == "LogAppendTime":
        # Records of one batch share the broker's append time.
        assert len({r[1] for r in records}) < n // 2
    targets = targets_for(records, 11)
    want = expected_answers(records, targets, records[-1][2])
    assert_same(answers(b.bootstrap, topic, targets), want)
    assert b.stop() == 0
    b.start()
    restarted = read_back(b.bootstrap, topic, n)
    assert restarted[:n] == records
    # A restart elects the broker again: latest names the new epoch.
    want["latest"] = (n, -1, list_offset(AdminClient({"bootstrap.servers": b.bootstrap}), topic,
                                         OffsetSpec.latest())[2])
    assert_same(answers(b.bootstrap, topic, targets), want)
