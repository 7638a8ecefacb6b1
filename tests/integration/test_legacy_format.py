"""Logs in the legacy message format (magic 0/1), as every pre-0.11 Kafka
wrote them and Kafka 2.8 still does with log.message.format.version=0.10.2,
taken over in place by the broker under test (samsa, or Kafka 3.9.1 with
SAMSA_TEST_TARGET=kafka): nothing is truncated, every record and every
by-time lookup answers as Kafka 2.8 answered on the same files, a group's
offsets committed into a legacy-format __consumer_offsets are found, the
segment files dump as Kafka's DumpLogSegments dumps them, and compaction of a topic
mixing legacy and current records keeps exactly the latest value of each
key.  For samsa, Kafka 3.9.1 then takes over samsa's files and answers the
same again."""
import pathlib
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer
from kafka import TopicPartition as KpTopicPartition

from conftest import is_samsa, new_broker, samsa_only, tool, unique, wait_for
from servers import KafkaBroker
from test_admin_tools import dump_log_kafka, run

T0 = (int(time.time()) - 3600) * 1000   # inside log.retention.hours
N = 60
LOOKUPS = [T0 - 1, T0, T0 + 1, T0 + 17_000, T0 + 30_500, T0 + (N - 1) * 1000, T0 + N * 1000]
# An inter-broker protocol this old also writes __consumer_offsets in the
# legacy format, with offset commit values v1 (Kafka before 2.1).
OLD_FORMAT = {"log.message.format.version": "0.10.2", "inter.broker.protocol.version": "0.10.2"}
FAST_CLEANER = {"log.cleaner.backoff.ms": "200"}
COMPACT = {"cleanup.policy": "compact", "segment.bytes": "2048", "min.cleanable.dirty.ratio": "0.01",
           "min.compaction.lag.ms": "0"}


def produce(bootstrap, topic, items, compression="none"):
    """items: (key, value, timestamp); acks=all, one partition."""
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": "all",
                  "compression.type": compression})
    for k, v, ts in items:
        p.produce(topic, key=k, value=v, partition=0, timestamp=ts)
    assert p.flush(60) == 0


def read_all(bootstrap, topic, n=None):
    """Every record of partition 0 from offset 0 (n of them, or up to the
    end offset): (offset, key, value, timestamp).  kafka-python: librdkafka 2.5 to 2.15 read legacy messages
    in flexible Fetch answers with null keys and values (its issue 5549),
    from Kafka as from samsa."""
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    tp = KpTopicPartition(topic, 0)
    c.assign([tp])
    c.seek(tp, 0)
    end = c.end_offsets([tp])[tp]
    got = []

    def enough():
        for records in c.poll(500).values():
            got.extend((m.offset, m.key, m.value, m.timestamp) for m in records)
        return len(got) >= n if n is not None else got and got[-1][0] + 1 >= end
    try:
        wait_for(enough, 60, f"{n or 'all'} records of {topic}")
        for records in c.poll(1000).values():
            got.extend((m.offset, m.key, m.value, m.timestamp) for m in records)
    finally:
        c.close()
    return got


def lookups(bootstrap, topic):
    """offsetsForTimes for each of LOOKUPS, and the watermarks."""
    c = KafkaConsumer(bootstrap_servers=bootstrap)
    tp = KpTopicPartition(topic, 0)
    try:
        found = [c.offsets_for_times({tp: ts})[tp] for ts in LOOKUPS]
        return ([(f.offset, f.timestamp) if f else None for f in found],
                c.beginning_offsets([tp])[tp], c.end_offsets([tp])[tp])
    finally:
        c.close()


def answers(broker, topics):
    return {t: (read_all(broker.bootstrap, t, n), lookups(broker.bootstrap, t)) for t, n in topics}


def dump_logs_match(logs, topics):
    """samsa-dump-log prints what Kafka 3.9.1's DumpLogSegments prints of
    the topics' segment files, record by record."""
    files = sorted(str(f) for t in topics for f in (logs / f"{t}-0").glob("*.log"))
    args = ["--files", ",".join(files), "--deep-iteration", "--print-data-log"]
    got = run([tool("samsa-dump-log"), *args]).stdout
    assert got == dump_log_kafka(*args)
    return got


def commit(bootstrap, group, topic, offset):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(topic, 0, offset, "meta-%d" % offset)], asynchronous=False)
    finally:
        c.close()


def committed(bootstrap, group, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        tp = c.committed([TopicPartition(topic, 0)], 30)[0]
        return tp.offset, tp.metadata
    finally:
        c.close()


def sweep_legacy_tombstones(broker, topic, writes, dead):
    """delete.retention.ms drops to one second: once a segment written that
    much after the legacy ones is clean, the legacy tombstones go (Kafka's
    legacyDeleteHorizonMs), while the current-format ones keep the delete
    horizon stamped at their first cleaning (a day).  Every other key stays
    at its offset.  Returns what is left, key -> [(offset, value)]."""
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    r = ConfigResource("topic", topic, incremental_configs=[
        ConfigEntry("delete.retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)])
    admin.incremental_alter_configs([r])[r].result(30)
    late = []

    def swept():
        time.sleep(1.2)
        batch = [(b"late%d" % (len(late) + i), b"y" * 40, T0 + 400) for i in range(20)]
        produce(broker.bootstrap, topic, batch)
        late.extend(batch)
        seen = {}
        for offset, k, v, _ in read_all(broker.bootstrap, topic):
            seen.setdefault(k, []).append((offset, v))
        return seen if not set(dead) & set(seen) else None
    seen = wait_for(swept, 120, "the legacy tombstones to go after delete.retention.ms")
    latest = {k: (offset, v) for offset, (k, v, _) in enumerate(writes + late) if k not in dead}
    assert {k: v[-1] for k, v in seen.items()} == latest
    assert all(len(v) == 1 for k, v in seen.items() if not k.startswith(b"late"))
    return seen


def items(prefix, n, t0=T0):
    return [(b"%s%d" % (prefix, i), b"v%d-" % i + prefix * 20, t0 + i * 1000) for i in range(n)]


def test_legacy_format_logs_taken_over_in_place(zookeeper, tmp_path):
    chroot = "/legacy-" + uuid.uuid4().hex[:8]
    logs = {"log.dirs": str(tmp_path / "logs")}
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    old = KafkaBroker(zookeeper.connect, str(tmp_path / "old"), chroot=chroot,
                      props={**logs, **OLD_FORMAT}, version="2.8.2")
    taker = new_broker(zookeeper, str(tmp_path / "new"), chroot=chroot, props={**logs, **FAST_CLEANER})
    plain, zipped, compact = unique("plain"), unique("gzip"), unique("compact")
    v0 = unique("magic0")       # message.format.version 0.9.0: no timestamps
    keys = [b"key%d" % i for i in range(40)]
    try:
        old.start()
        admin = AdminClient({"bootstrap.servers": old.bootstrap})
        for f in admin.create_topics([NewTopic(plain, 1, 1), NewTopic(zipped, 1, 1),
                                      NewTopic(compact, 1, 1, config=COMPACT),
                                      NewTopic(v0, 1, 1, config={"message.format.version": "0.9.0"})
                                      ]).values():
            f.result(30)
        produce(old.bootstrap, plain, items(b"p", N))
        produce(old.bootstrap, zipped, items(b"z", N), "gzip")
        produce(old.bootstrap, v0, items(b"a", N // 2) + items(b"b", N // 2), "snappy")
        legacy = [(k, b"old-" + k, T0 + i) for i, k in enumerate(keys)]
        produce(old.bootstrap, compact, legacy)
        # One gzip wrapper, which the cleaner must write again with the
        # records it keeps.
        wrapped = [(b"gz%d" % i, b"old-gz%d" % i, T0 + 50 + i) for i in range(20)]
        produce(old.bootstrap, compact, wrapped, "gzip")
        # Legacy tombstones: they go by their segment's age, not a horizon.
        dead = [(keys[30], None, T0 + 70), (keys[31], None, T0 + 71)]
        produce(old.bootstrap, compact, dead)
        topics = [(plain, N), (zipped, N), (compact, len(legacy + wrapped + dead)), (v0, N)]
        group = unique("legacy-group")
        commit(old.bootstrap, group, plain, 17)
        commit(old.bootstrap, group, plain, 23)
        assert committed(old.bootstrap, group, plain) == (23, "meta-23")
        before = answers(old, topics)
        assert [r[:2] for r in before[plain][0]] == [(i, b"p%d" % i) for i in range(N)]
        assert before[zipped][0][N - 1][1:] == items(b"z", N)[N - 1]
        assert old.stop() == 0
        first = (tmp_path / "logs" / f"{plain}-0" / ("0" * 20 + ".log")).read_bytes()
        assert first[16] == 1, "Kafka 2.8 did not write the legacy format"
        first = (tmp_path / "logs" / f"{v0}-0" / ("0" * 20 + ".log")).read_bytes()
        assert first[16] == 0, "Kafka 2.8 did not write magic 0"
        dumped = dump_logs_match(tmp_path / "logs", [plain, zipped, compact, v0])
        assert "magic: 0 compresscodec: snappy" in dumped and "magic: 1 compresscodec: gzip" in dumped

        offsets_logs = list((tmp_path / "logs").glob("__consumer_offsets-*/" + "0" * 20 + ".log"))
        assert any(f.stat().st_size and f.read_bytes()[16] == 1 for f in offsets_logs)

        taker.start()
        assert answers(taker, topics) == before
        assert committed(taker.bootstrap, group, plain) == (23, "meta-23")
        # Current-format records supersede half of the legacy keys (and
        # delete two); the legacy records of the other half stay.
        newer = [(k, b"new-" + k, T0 + 100 + i) for i, k in enumerate(keys[:20])]
        newer += [(keys[20], None, T0 + 200), (keys[21], None, T0 + 201)]
        newer += [(k, b"new-" + k, T0 + 210 + i) for i, (k, _, _) in enumerate(wrapped[:8])]
        produce(taker.bootstrap, compact, newer)
        # Three batches of other keys roll the active segment past those.
        rolls = [(b"roll%d" % i, b"x" * 40, T0 + 300) for i in range(60)]
        for i in range(0, 60, 20):
            produce(taker.bootstrap, compact, rolls[i:i + 20])
        writes = legacy + wrapped + dead + newer + rolls       # in offset order
        latest = {k: (offset, v) for offset, (k, v, _) in enumerate(writes)}
        total = len(writes)

        def compacted():
            got = read_all(taker.bootstrap, compact)
            seen = {}
            for offset, k, v, _ in got:
                seen.setdefault(k, []).append((offset, v))
            return seen if len(got) < total and all(len(v) == 1 for v in seen.values()) else None
        seen = wait_for(compacted, 90, "the cleaner to compact legacy and current records")
        assert {k: v[-1] for k, v in seen.items()} == latest       # every key at its offset
        seen = sweep_legacy_tombstones(taker, compact, writes, [k for k, _, _ in dead])
        after = answers(taker, [(plain, N), (zipped, N), (compact, len(seen)), (v0, N)])
        assert all(after[t] == before[t] for t in (plain, zipped, v0))
        assert "magic: 2" in dump_logs_match(tmp_path / "logs", [compact])
        assert taker.stop() == 0
        if is_samsa(taker):
            # Kafka 3.9.1 reads what samsa kept and cleaned.
            taker.assert_no_sanitizer_reports()
            (tmp_path / "k39").mkdir()
            k39 = KafkaBroker(zookeeper.connect, str(tmp_path / "k39"), chroot=chroot, props=logs)
            try:
                k39.start()
                assert answers(k39, [(plain, N), (zipped, N), (compact, len(seen)), (v0, N)]) == after
                assert k39.stop() == 0
            finally:
                k39.stop()
    finally:
        old.stop()
        taker.stop()



def isr(bootstrap, topic):
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10)
    t = md.topics.get(topic)
    return sorted(t.partitions[0].isrs) if t and t.error is None and 0 in t.partitions else []


def test_follower_of_a_legacy_format_leader(zookeeper, tmp_path):
    """A broker of the current kind (samsa, or Kafka 3.9.1) joins a Kafka
    2.8.2 broker that writes the legacy format, as a rolling migration has
    it: it follows a partition the old broker leads, its segment file is
    byte for byte the leader's, it joins the ISR, and once the old broker
    is gone it leads the partition and serves every record as the old
    leader did."""
    chroot = "/legacy-" + uuid.uuid4().hex[:8]
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    old = KafkaBroker(zookeeper.connect, str(tmp_path / "old"), broker_id=1, chroot=chroot,
                      props={**OLD_FORMAT, "inter.broker.protocol.version": "2.8"},
                      version="2.8.2")
    new = new_broker(zookeeper, str(tmp_path / "new"), broker_id=0, chroot=chroot,
                     props={"inter.broker.protocol.version": "2.8"})
    topic = unique("followed")
    try:
        old.start()
        new.start()
        admin = AdminClient({"bootstrap.servers": old.bootstrap})
        wait_for(lambda: set(admin.list_topics(timeout=10).brokers) == {0, 1}, 60,
                 "the old broker's metadata to list both brokers")
        admin.create_topics([NewTopic(topic, 1, replica_assignment=[[1, 0]])])[topic].result(30)
        wait_for(lambda: isr(old.bootstrap, topic) == [0, 1], 60, "both replicas in the ISR")
        produce(old.bootstrap, topic, items(b"p", N))
        produce(old.bootstrap, topic, items(b"z", N, T0 + N * 1000), "gzip")
        before = answers(old, [(topic, 2 * N)])
        name = "0" * 20 + ".log"
        leader_log = pathlib.Path(old.logdir) / f"{topic}-0" / name
        follower_log = pathlib.Path(new.logdir) / f"{topic}-0" / name
        assert leader_log.read_bytes()[16] == 1, "Kafka 2.8 did not write the legacy format"
        wait_for(lambda: follower_log.exists() and
                 follower_log.read_bytes() == leader_log.read_bytes(), 60,
                 "the follower's copy of the leader's segment")
        wait_for(lambda: isr(old.bootstrap, topic) == [0, 1], 60, "both replicas in the ISR")
        old.kill9()
        wait_for(lambda: answers_or_none(new, topic) == before[topic], 90,
                 "the former follower to serve what the old leader served")
    finally:
        old.stop()
        new.stop()


def answers_or_none(broker, topic):
    try:
        return answers(broker, [(topic, 2 * N)])[topic]
    except Exception:       # noqa: BLE001 - not leading yet: kafka-python times out
        return None


def stopped_with_segments(make_broker, prefix, config):
    """A broker with a topic of N records, one batch each, in many
    segments, stopped cleanly: (broker, topic, its answers before the stop,
    the offset index files, the time index files)."""
    import glob
    import os
    b = make_broker()
    b.start()
    topic = unique(prefix)
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1, config=config)])[topic].result(30)
    for item in items(prefix.encode()[:1], N):
        produce(b.bootstrap, topic, [item])
    before = answers(b, [(topic, N)])
    assert b.stop() == 0
    d = os.path.join(b.logdir, f"{topic}-0")
    return (b, topic, before, sorted(glob.glob(os.path.join(d, "*.index"))),
            sorted(glob.glob(os.path.join(d, "*.timeindex"))))


@samsa_only
def test_segments_without_index_files(make_broker):
    """Logs from before Kafka 0.10 have no .timeindex files, and operators
    delete index files they suspect: samsa, restarted on such a log,
    rebuilds them and answers every record and every by-time lookup as it
    did before.  samsa only: Kafka 3.9.1 rebuilds a missing offset index
    but keeps a missing time index empty and takes the segment's
    modification time for its largest timestamp, so by-time lookups of
    records at or past that segment answer null (run with
    SAMSA_TEST_TARGET=kafka, this test shows it)."""
    import os
    b, topic, before, offset_indexes, time_indexes = stopped_with_segments(
        make_broker, "noindex", {"segment.bytes": "1000"})
    assert len(offset_indexes) >= 4, offset_indexes
    for f in offset_indexes[:2] + time_indexes[:3]:
        os.unlink(f)
    b.start()
    assert answers(b, [(topic, N)]) == before
    assert b.stop() == 0


@samsa_only
def test_corrupt_index_files_are_rebuilt(make_broker):
    """Index files a crash or a disk fault left corrupt, as Kafka's
    OffsetIndex/TimeIndex sanity checks define it (a length that is not a
    whole number of entries, a last offset below the segment's base, a last
    timestamp below the first), are rebuilt from the segment at load: every
    record and every by-time lookup answers as before.  samsa only: Kafka
    3.9.1 runs those checks only on segments it recovers anyway
    (LogSegment.sanityCheck checks just the transaction index) and answers
    by-time lookups from the corrupt files (run with
    SAMSA_TEST_TARGET=kafka, this test shows it)."""
    import os
    import struct
    b, topic, before, offset_indexes, time_indexes = stopped_with_segments(
        make_broker, "badindex", {"segment.bytes": "1000", "index.interval.bytes": "1"})
    assert len(offset_indexes) >= 5 and all(os.path.getsize(f) >= 24 for f in time_indexes[1:3])

    def patch_last(path, entry, at, value):
        with open(path, "r+b") as f:
            f.seek(os.path.getsize(path) - entry + at)
            f.write(value)
    with open(offset_indexes[0], "ab") as f:
        f.write(b"\x01\x02\x03")                                  # not whole entries
    patch_last(time_indexes[1], 12, 0, struct.pack(">q", 0))      # last timestamp < first
    patch_last(time_indexes[2], 12, 8, struct.pack(">i", -5))     # last offset < base
    patch_last(offset_indexes[3], 8, 0, struct.pack(">i", -5))    # last offset < base
    b.start()
    assert answers(b, [(topic, N)]) == before
    assert b.stop() == 0
    assert all(os.path.getsize(f) % 8 == 0 for f in offset_indexes)
