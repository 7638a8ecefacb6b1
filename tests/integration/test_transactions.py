"""Transactions end to end through the transaction coordinator, with
independent clients (confluent-kafka/librdkafka, kafka-python's admin
requests through the raw protocol helper): transactional producers commit
and abort, read_committed consumers see exactly the committed records,
offsets sent in a transaction become the group's offsets only when it
commits, a second producer with the same transactional.id fences the
first, a transaction left open past its timeout is aborted by the
coordinator, and everything survives a restart of the broker.  Every test
runs against Kafka too (SAMSA_TEST_TARGET=kafka) and compares exact
answers: the same records at the same offsets, the same error codes."""
import subprocess
import sys
import time

import pytest
from confluent_kafka import (Consumer, IsolationLevel, KafkaError, KafkaException, Producer,
                             TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

from conftest import samsa_only, unique, wait_for
from test_takeover import brokers_on_one_log_dir
from test_txn_takeover import list_offset, read_view, write_transactions


def create_topic(bootstrap, topic, partitions=1):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)
    wait_for(lambda: led_all(bootstrap, topic, partitions), 60, f"leaders for {topic}")


def led_all(bootstrap, topic, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    md = admin.list_topics(topic, timeout=10).topics.get(topic)
    return md is not None and md.error is None and len(md.partitions) == partitions and all(
        p.leader >= 0 for p in md.partitions.values())


def settled_end(bootstrap, topic, expected):
    """Waits for the last marker (written after the commit returns): the
    last stable offset and the high watermark both reach `expected`."""
    wait_for(lambda: list_offset(bootstrap, topic, IsolationLevel.READ_COMMITTED) == expected,
             30, f"offset {expected} of {topic} to be stable")
    assert list_offset(bootstrap, topic, IsolationLevel.READ_UNCOMMITTED) == expected
    return expected


def txn_producer(bootstrap, tid, **extra):
    conf = {"bootstrap.servers": bootstrap, "transactional.id": tid, "linger.ms": 5}
    conf.update(extra)
    return Producer(conf)


def test_committed_and_aborted_transactions_read_exactly(broker):
    """30 transactions (every third aborted) between plain records and one
    still open: read_committed shows exactly the plain records and the
    committed transactions below the open one; read_uncommitted shows all;
    the last stable offset stops at the open transaction."""
    bs = broker.bootstrap
    topic = unique("txn-exact")
    create_topic(bs, topic)
    txn = write_transactions(bs, topic)
    hw = list_offset(bs, topic, IsolationLevel.READ_UNCOMMITTED)
    lso = list_offset(bs, topic, IsolationLevel.READ_COMMITTED)
    # 30 x (7 records + marker) + 30 plain + 5 open + 1 plain.
    assert hw == 30 * 8 + 30 + 6
    uncommitted = read_view(bs, topic, "read_uncommitted", hw)
    committed = read_view(bs, topic, "read_committed", lso)
    open_first = min(o for o, k in uncommitted if k.startswith(b"open-"))
    assert lso == open_first
    want = [(o, k) for o, k in uncommitted if o < lso and (
        k.startswith(b"p") or (k.startswith(b"t") and int(k[1:].split(b"-")[0]) % 3 != 2))]
    assert committed == want
    assert len(uncommitted) == 30 * 7 + 30 + 5 + 1
    txn.commit_transaction(30)
    # The commit returns once PrepareCommit is written; the marker follows.
    hw2 = hw + 1
    wait_for(lambda: list_offset(bs, topic, IsolationLevel.READ_COMMITTED) == hw2, 30,
             "the commit marker")
    assert list_offset(bs, topic, IsolationLevel.READ_UNCOMMITTED) == hw2
    after = read_view(bs, topic, "read_committed", hw2)
    assert [k for o, k in after if k.startswith(b"open-")] == [b"open-%d" % i for i in range(5)]


def test_offsets_committed_in_a_transaction_apply_only_on_commit(broker):
    """consume-transform-produce: send_offsets_to_transaction, then abort
    (the group's offset stays where it was), then commit (it moves)."""
    bs = broker.bootstrap
    src, dst, group = unique("txn-src"), unique("txn-dst"), unique("txn-group")
    create_topic(bs, src)
    create_topic(bs, dst)
    p = Producer({"bootstrap.servers": bs})
    for i in range(10):
        p.produce(src, key=b"k%d" % i, value=b"v", partition=0)
    assert p.flush(30) == 0
    c = Consumer({"bootstrap.servers": bs, "group.id": group, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
    c.assign([TopicPartition(src, 0, 0)])
    msgs = []
    wait_for(lambda: msgs.extend(m for m in c.consume(10, 0.5) if not m.error()) or len(msgs) >= 10,
             60, "the source records")
    t = txn_producer(bs, unique("tid"))
    t.init_transactions(30)

    def committed():
        return c.committed([TopicPartition(src, 0)], 30)[0].offset

    def transact(value, offset, commit):
        t.begin_transaction()
        t.produce(dst, value=value, partition=0)
        t.flush(30)
        t.send_offsets_to_transaction([TopicPartition(src, 0, offset)], c.consumer_group_metadata(), 30)
        if commit:
            t.commit_transaction(30)
        else:
            t.abort_transaction(30)

    group_coordinator_ready(bs, group, src)
    # Commit offset 4 for real first.
    transact(b"first", 4, True)
    assert committed() == 4
    # An aborted transaction's offsets never apply.
    transact(b"aborted", 8, False)
    assert committed() == 4
    transact(b"second", 10, True)
    assert committed() == 10
    c.close()
    end = settled_end(bs, dst, 6)      # three records, each followed by its marker
    assert [v for o, v in read_values(bs, dst, end)] == [b"first", b"second"]


def read_values(bootstrap, topic, end):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g"),
                  "enable.auto.commit": False, "isolation.level": "read_committed"})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []

    def done():
        got.extend((m.offset(), m.value()) for m in c.consume(500, 0.5) if m.error() is None)
        return c.position([TopicPartition(topic, 0)])[0].offset >= end
    wait_for(done, 60, f"a read_committed read up to {end}")
    c.close()
    return got


def test_a_new_producer_with_the_same_id_fences_the_old_one(broker):
    """The second init_transactions bumps the epoch and aborts the first
    producer's open transaction; the first producer is fenced."""
    bs = broker.bootstrap
    topic = unique("txn-fence")
    create_topic(bs, topic)
    tid = unique("tid")
    old = txn_producer(bs, tid)
    old.init_transactions(30)
    old.begin_transaction()
    old.produce(topic, value=b"zombie", partition=0)
    old.flush(30)
    new = txn_producer(bs, tid)
    new.init_transactions(60)
    new.begin_transaction()
    new.produce(topic, value=b"live", partition=0)
    new.commit_transaction(30)
    with pytest.raises(KafkaException) as e:
        old.produce(topic, value=b"zombie-2", partition=0)
        old.commit_transaction(30)
    assert e.value.args[0].fatal() or e.value.args[0].txn_requires_abort() or \
        e.value.args[0].code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED,
                                   KafkaError.INVALID_PRODUCER_EPOCH)
    end = settled_end(bs, topic, 4)    # zombie, its abort marker, live, its commit marker
    assert [v for o, v in read_values(bs, topic, end)] == [b"live"]


def test_the_coordinator_aborts_a_transaction_past_its_timeout(make_broker):
    """transaction.timeout.ms passes with the transaction open: the
    coordinator aborts it (the LSO moves past it, its records are never
    read committed) and the producer is fenced."""
    b = make_broker(props={"transaction.abort.timed.out.transaction.cleanup.interval.ms": "500"})
    b.start()
    bs = b.bootstrap
    topic = unique("txn-timeout")
    create_topic(bs, topic)
    t = txn_producer(bs, unique("tid"), **{"transaction.timeout.ms": 2000})
    t.init_transactions(30)
    t.begin_transaction()
    for i in range(3):
        t.produce(topic, value=b"late-%d" % i, partition=0)
    t.flush(30)
    assert list_offset(bs, topic, IsolationLevel.READ_COMMITTED) == 0
    # Aborted by the coordinator: a marker follows the 3 records.
    wait_for(lambda: list_offset(bs, topic, IsolationLevel.READ_COMMITTED) == 4, 30,
             "the coordinator's abort marker")
    assert list_offset(bs, topic, IsolationLevel.READ_UNCOMMITTED) == 4
    assert read_values(bs, topic, 4) == []
    with pytest.raises(KafkaException):
        t.commit_transaction(30)


def test_transactions_survive_a_restart(make_broker):
    """The coordinator's state is in __transaction_state: after a restart
    the same transactional.id resumes with a higher epoch, and a
    transaction left open before the stop is aborted when the new producer
    initialises."""
    b = make_broker()
    b.start()
    bs = b.bootstrap
    topic = unique("txn-restart")
    create_topic(bs, topic)
    tid = unique("tid")
    t = txn_producer(bs, tid)
    t.init_transactions(30)
    t.begin_transaction()
    t.produce(topic, value=b"committed", partition=0)
    t.commit_transaction(30)
    t.begin_transaction()
    t.produce(topic, value=b"open", partition=0)
    t.flush(30)
    b.stop()
    b.start()
    bs = b.bootstrap
    t2 = txn_producer(bs, tid)
    t2.init_transactions(60)
    t2.begin_transaction()
    t2.produce(topic, value=b"after", partition=0)
    t2.commit_transaction(30)
    end = settled_end(bs, topic, 6)    # committed, open and after, each with its marker
    assert [v for o, v in read_values(bs, topic, end)] == [b"committed", b"after"]


def test_java_client_transactions_and_admin_views(broker, java_client):
    """Apache Kafka's Java producer, consumer and Admin client: 6
    transactions of 3 records (every third aborted) and one left open,
    described (DescribeTransactions, ListTransactions, DescribeProducers)
    while open, then committed and read back read_committed."""
    topic = unique("txn-java")
    create_topic(broker.bootstrap, topic)
    tid = unique("java-tid")
    out = subprocess.run(java_client + ["transact", broker.bootstrap, topic, "6", tid],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    # Each transaction: 3 records and a marker; the open one starts at 24.
    assert f"DESCRIBE Ongoing 0 60000 [{topic}-0]" in lines
    assert "LIST Ongoing" in lines
    assert "PRODUCER 0 18 24" in lines     # sequences 0-17 in the six, 18 in the open one
    recs = [l for l in lines if l.startswith("REC ")]
    want = [f"REC {t * 4 + i} t{t}-{i}" for t in range(6) if t % 3 != 2 for i in range(3)]
    assert recs == want + ["REC 24 last"]


def group_offset(bootstrap, group, topic):
    """The group's committed offset of partition 0, asked as a
    read_committed consumer asks (require_stable: it waits out pending
    transactional commits)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "isolation.level": "read_committed", "enable.auto.commit": False})
    try:
        return c.committed([TopicPartition(topic, 0)], 30)[0].offset
    finally:
        c.close()


def group_coordinator_ready(bootstrap, group, topic):
    """Waits until the group's coordinator answers (creating
    __consumer_offsets on first use).  librdkafka's
    send_offsets_to_transaction can block past its own timeout when the
    offsets topic is still being created, against Kafka as well."""
    def ready():
        # read_uncommitted: no require_stable, so a pending transactional
        # commit does not hold the answer back.
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                      "isolation.level": "read_uncommitted", "enable.auto.commit": False})
        try:
            c.committed([TopicPartition(topic, 0)], 10)
            return True
        except KafkaException:
            return False
        finally:
            c.close()
    wait_for(ready, 60, "the group coordinator")


def transact_offsets(bootstrap, tid, src, dst, group, offset, commit):
    group_coordinator_ready(bootstrap, group, src)
    t = txn_producer(bootstrap, tid)
    t.init_transactions(60)
    t.begin_transaction()
    t.produce(dst, value=b"at-%d" % offset, partition=0)
    t.flush(30)
    meta = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    t.send_offsets_to_transaction([TopicPartition(src, 0, offset)],
                                  meta.consumer_group_metadata(), 30)
    meta.close()
    if commit is True:
        t.commit_transaction(30)
    elif commit is False:
        t.abort_transaction(30)
    return t


@samsa_only
def test_transactional_offsets_and_coordinator_state_kafka_wrote(zookeeper, tmp_path):
    """Kafka 3.9 writes a committed and an aborted transaction with offsets
    and leaves one open; samsa loads __transaction_state and
    __consumer_offsets as Kafka left them: the group's offset is the
    committed one, the open transaction is aborted when the producer comes
    back (its offset never applies), a new one commits; Kafka then takes the
    directory back and answers the same."""
    kafka, samsa = brokers_on_one_log_dir(zookeeper, tmp_path)
    src, dst, group, tid = unique("src"), unique("dst"), unique("g"), unique("tid")
    try:
        kafka.start()
        create_topic(kafka.bootstrap, src)
        create_topic(kafka.bootstrap, dst)
        transact_offsets(kafka.bootstrap, tid, src, dst, group, 4, True)
        transact_offsets(kafka.bootstrap, tid, src, dst, group, 8, False)
        assert group_offset(kafka.bootstrap, group, src) == 4
        transact_offsets(kafka.bootstrap, tid, src, dst, group, 9, None)   # left open
        assert kafka.stop() == 0

        samsa.start()
        wait_for(lambda: led_all(samsa.bootstrap, dst, 1), 60, "a leader for dst")
        transact_offsets(samsa.bootstrap, tid, src, dst, group, 10, True)   # fences the open one
        assert group_offset(samsa.bootstrap, group, src) == 10
        # at-4 commit, at-8 abort, at-9 abort (fenced), at-10 commit: 4 records, 4 markers.
        end = settled_end(samsa.bootstrap, dst, 8)
        assert [v for o, v in read_values(samsa.bootstrap, dst, end)] == [b"at-4", b"at-10"]
        assert samsa.stop() == 0

        kafka.start()
        wait_for(lambda: led_all(kafka.bootstrap, dst, 1), 60, "a leader for dst")
        assert group_offset(kafka.bootstrap, group, src) == 10
        assert [v for o, v in read_values(kafka.bootstrap, dst, end)] == [b"at-4", b"at-10"]
        t = transact_offsets(kafka.bootstrap, tid, src, dst, group, 11, True)
        assert group_offset(kafka.bootstrap, group, src) == 11
        t.flush(5)
        assert kafka.stop() == 0
    finally:
        kafka.stop()
        samsa.stop()
        samsa.assert_no_sanitizer_reports()


def test_transactional_offsets_survive_a_restart(make_broker):
    """__consumer_offsets is read back with its markers: a committed
    transaction's offset holds, an aborted one's never applies, and an
    open one's stays pending until the producer's successor aborts it."""
    b = make_broker()
    b.start()
    src, dst, group, tid = unique("src"), unique("dst"), unique("g"), unique("tid")
    create_topic(b.bootstrap, src)
    create_topic(b.bootstrap, dst)
    transact_offsets(b.bootstrap, tid, src, dst, group, 4, True)
    transact_offsets(b.bootstrap, tid, src, dst, group, 8, False)
    transact_offsets(b.bootstrap, tid, src, dst, group, 9, None)
    b.stop()
    b.start()
    wait_for(lambda: led_all(b.bootstrap, dst, 1), 60, "a leader for dst")
    transact_offsets(b.bootstrap, tid, src, dst, group, 10, False)
    assert group_offset(b.bootstrap, group, src) == 4
    transact_offsets(b.bootstrap, tid, src, dst, group, 12, True)
    assert group_offset(b.bootstrap, group, src) == 12


def _retry(fn, what, retriable=(14, 15, 51)):
    """fn() -> (error, rest...) retried while the coordinator is starting
    (COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE) or busy
    (CONCURRENT_TRANSACTIONS)."""
    deadline = time.time() + 60
    while True:
        r = fn()
        if r[0] not in retriable or time.time() > deadline:
            return r
        time.sleep(0.2)


def verify(conn, tid, pid, epoch, topic, partitions):
    """AddPartitionsToTxn v4 with verify_only; {partition: error}."""
    import struct
    from kproto import compact_str, read_compact_str, read_uvarint, uvarint
    body = b"\x00" + uvarint(2) + compact_str(tid) + struct.pack(">qhb", pid, epoch, 1)
    body += uvarint(2) + compact_str(topic) + uvarint(len(partitions) + 1)
    body += b"".join(struct.pack(">i", p) for p in partitions) + b"\x00"   # topic tags
    body += b"\x00" + b"\x00"                                            # txn, request tags
    resp = conn.request(24, 4, body)
    at = 1 + 4                                          # header tags, throttle
    (err,) = struct.unpack_from(">h", resp, at)
    assert err == 0
    n_txn, at = read_uvarint(resp, at + 2)
    out = {}
    for _ in range(n_txn - 1):
        _tid, at = read_compact_str(resp, at)
        n_topics, at = read_uvarint(resp, at)
        for _ in range(n_topics - 1):
            _name, at = read_compact_str(resp, at)
            n_parts, at = read_uvarint(resp, at)
            for _ in range(n_parts - 1):
                p, perr = struct.unpack_from(">ih", resp, at)
                out[p] = perr
                at += 6 + 1
            at += 1
        at += 1
    return out


def test_coordinator_error_codes(broker):
    """Raw requests at old versions, each answered with Kafka's error code
    (the same assertions pass against Kafka 3.9)."""
    import struct
    from kproto import Conn, kstr
    tid = unique("raw-tid")
    c = Conn(broker.port)
    try:
        def find():
            body = c.request(10, 1, kstr(tid) + struct.pack(">b", 1))
            _, err = struct.unpack_from(">ih", body, 0)
            return (err,)
        assert _retry(find, "FindCoordinator")[0] == 0

        def init(timeout, txn=tid):
            body = c.request(22, 1, kstr(txn) + struct.pack(">i", timeout))
            return struct.unpack(">ihqh", body[:16])[1:]
        assert _retry(lambda: init(0), "InitProducerId")[0] == 50           # INVALID_TRANSACTION_TIMEOUT
        assert _retry(lambda: init(900001), "InitProducerId")[0] == 50
        assert init(60000, "")[0] == 42                                   # INVALID_REQUEST
        err, pid, epoch = _retry(lambda: init(60000), "InitProducerId")
        assert (err, epoch) == (0, 0)

        def add(version, p, e, topic):
            body = kstr(tid) + struct.pack(">qh", p, e) + struct.pack(">i", 1) + kstr(topic)
            body += struct.pack(">ii", 1, 0)
            out = c.request(24, version, body)
            (n,) = struct.unpack_from(">i", out, 4)
            (tl,) = struct.unpack_from(">h", out, 8)
            _, perr = struct.unpack_from(">ih", out, 10 + tl + 4)
            return (perr,)
        topic = unique("raw-txn")
        create_topic(broker.bootstrap, topic)
        assert add(1, pid, epoch + 1, topic)[0] == 47     # v1: INVALID_PRODUCER_EPOCH
        assert add(2, pid, epoch + 1, topic)[0] == 90     # v2: PRODUCER_FENCED
        assert add(1, pid + 1, epoch, topic)[0] == 49     # INVALID_PRODUCER_ID_MAPPING
        assert add(1, pid, epoch, unique("no-such-topic"))[0] == 3

        def end(txn, p, e, commit):
            body = kstr(txn) + struct.pack(">qhb", p, e, 1 if commit else 0)
            return struct.unpack_from(">ih", c.request(26, 1, body), 0)[1:]
        assert _retry(lambda: end(tid, pid, epoch, True), "EndTxn")[0] == 48     # INVALID_TXN_STATE (Empty)
        assert _retry(lambda: end(unique("unknown"), 1, 0, True), "EndTxn")[0] == 49
        assert _retry(lambda: add(1, pid, epoch, topic), "AddPartitionsToTxn")[0] == 0
        # A leader's KIP-890 verification (v4, verify_only): partition 0 is
        # in the transaction, the other topic's is not, a missing partition
        # is unknown (and the rest not attempted), a stale epoch is fenced.
        other = unique("raw-txn-other")
        create_topic(broker.bootstrap, other)
        assert verify(c, tid, pid, epoch, topic, [0]) == {0: 0}
        assert verify(c, tid, pid, epoch, other, [0]) == {0: 120}       # TRANSACTION_ABORTABLE
        assert verify(c, tid, pid, epoch, topic, [0, 1]) == {0: 55, 1: 3}
        assert verify(c, tid, pid, epoch - 1, topic, [0]) == {0: 90}
        assert _retry(lambda: end(tid, pid, epoch, False), "EndTxn")[0] == 0
        # Aborting again is answered NONE once complete; committing is not.
        assert _retry(lambda: end(tid, pid, epoch, False), "EndTxn")[0] == 0
        assert _retry(lambda: end(tid, pid, epoch, True), "EndTxn")[0] == 48
    finally:
        c.close()


def txn_batch(pid, epoch, seq, n=3):
    from kafka.record.default_records import DefaultRecordBatchBuilder
    now = int(time.time() * 1000)
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=True,
                                  producer_id=pid, producer_epoch=epoch, base_sequence=seq,
                                  batch_size=1 << 20)
    for i in range(n):
        b.append(i, timestamp=now + i, key=b"k%d" % (seq + i), value=b"v", headers=[])
    return bytes(b.build())


def produce_txn_v3(conn, tid, topic, batch):
    """Produce v3 (acks=-1) naming the transactional id; (error, base offset)."""
    import struct
    from kproto import kstr, parse_produce_v3_response
    body = kstr(tid) + struct.pack(">hi", -1, 30000) + struct.pack(">i", 1) + kstr(topic)
    body += struct.pack(">ii", 1, 0) + struct.pack(">i", len(batch)) + batch
    return tuple(parse_produce_v3_response(conn.request(0, 3, body))[0][2:])


def test_the_leader_verifies_a_transactions_first_batch(broker):
    """KIP-890 part 1 on the partition leader (the same assertions pass
    against Kafka 3.9): a transactional producer's batch that would open a
    transaction on a partition never added to it is refused with
    INVALID_TXN_STATE and not written; once the partition is added it is
    taken; after the transaction's abort, a late batch of it (a zombie's
    retry) cannot open a new one."""
    import struct
    from kproto import Conn, kstr
    tid, topic = unique("verify-tid"), unique("verify")
    create_topic(broker.bootstrap, topic)
    c = Conn(broker.port)
    try:
        assert _retry(lambda: struct.unpack_from(">ih", c.request(10, 1, kstr(tid) + b"\x01"))[1:],
                      "FindCoordinator")[0] == 0
        err, pid, epoch = _retry(lambda: struct.unpack(">ihqh", c.request(
            22, 1, kstr(tid) + struct.pack(">i", 60000))[:16])[1:], "InitProducerId")
        assert err == 0

        def add():
            body = kstr(tid) + struct.pack(">qh", pid, epoch) + struct.pack(">i", 1) + kstr(topic)
            out = c.request(24, 1, body + struct.pack(">ii", 1, 0))
            (tl,) = struct.unpack_from(">h", out, 8)
            return struct.unpack_from(">ih", out, 10 + tl + 4)[1:]

        def end(commit):
            body = kstr(tid) + struct.pack(">qhb", pid, epoch, 1 if commit else 0)
            return struct.unpack_from(">ih", c.request(26, 1, body), 0)[1:]

        def produce(seq):
            return _retry(lambda: produce_txn_v3(c, tid, topic, txn_batch(pid, epoch, seq)),
                          "Produce", retriable=(19,))     # NOT_ENOUGH_REPLICAS: coordinator busy
        assert produce(0) == (48, -1)                       # INVALID_TXN_STATE, nothing written
        # Offsets too (TxnOffsetCommit v2) before AddOffsetsToTxn: the
        # group's __consumer_offsets partition is not in the transaction.
        group = unique("verify-group")
        assert _retry(lambda: struct.unpack_from(">ih", c.request(10, 1, kstr(group) + b"\x00"))[1:],
                      "FindCoordinator (group)")[0] == 0

        def txn_commit():
            body = kstr(tid) + kstr(group) + struct.pack(">qh", pid, epoch) + struct.pack(">i", 1)
            body += kstr(topic) + struct.pack(">iiqi", 1, 0, 5, -1) + kstr("")
            out = c.request(28, 2, body)
            (tl,) = struct.unpack_from(">h", out, 8)
            return struct.unpack_from(">ih", out, 10 + tl + 4)[1:]
        assert _retry(txn_commit, "TxnOffsetCommit")[0] == 48
        assert _retry(add, "AddPartitionsToTxn")[0] == 0
        assert produce(0) == (0, 0)
        assert produce(3) == (0, 3)                         # the transaction is open: no question
        assert _retry(lambda: end(False), "EndTxn")[0] == 0
        settled_end(broker.bootstrap, topic, 7)             # 6 records and the abort marker
        assert produce(6) == (48, -1)                       # the zombie's late batch
        assert list_offset(broker.bootstrap, topic, IsolationLevel.READ_UNCOMMITTED) == 7
    finally:
        c.close()


def test_consume_transform_produce_killed_at_random_points(make_broker, zookeeper):
    """An exactly-once consume-transform-produce loop (sendOffsetsToTransaction)
    is killed -9 at random points and restarted, and the broker itself is
    killed -9 once: the output, read_committed, holds every input record
    exactly once and in order per partition -- no lost write, no duplicate,
    no aborted read, offsets monotonic."""
    import os
    import random
    import signal
    b = make_broker()
    b.start()
    src, dst, group, tid = unique("eos-in"), unique("eos-out"), unique("eos-g"), unique("eos-tid")
    create_topic(b.bootstrap, src, 3)
    create_topic(b.bootstrap, dst, 3)
    n = 6000
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "enable.idempotence": True})
    for i in range(n):
        p.produce(src, key=b"k%05d" % i, value=b"v%05d" % i, partition=i % 3)
    assert p.flush(60) == 0
    del p
    worker = [sys.executable, os.path.join(os.path.dirname(__file__), "eos_worker.py")]
    rnd = random.Random(7)

    def start_worker():
        return subprocess.Popen(worker + [b.bootstrap, src, dst, "3", group, tid],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    procs = []
    try:
        for round_ in range(6):
            w = start_worker()
            procs.append(w)
            time.sleep(rnd.uniform(2.5, 5.0))
            w.send_signal(signal.SIGKILL)
            w.wait(30)
            if round_ == 2:
                b.kill9()
                wait_registration_gone(zookeeper, b)   # Kafka refuses to start before that
                b.start()
        # Most of the killed workers had committed transactions: the kills
        # landed mid-stream, not after the work was done.
        mid_stream = sum(1 for k in procs if "COMMITTED" in k.stdout.read())
        assert mid_stream >= 3, f"only {mid_stream} killed workers had committed anything"
        w = start_worker()
        procs.append(w)
        wait_for(lambda: committed_count(b.bootstrap, group, src) == n, 180,
                 "the worker to copy every input record")
        w.send_signal(signal.SIGKILL)
        w.wait(30)
    finally:
        for w in procs:
            if w.poll() is None:
                w.kill()
                w.wait(10)
    for part in range(3):
        end = partition_end(b.bootstrap, dst, part)
        keys = [k for _, k in read_view_partition(b.bootstrap, dst, part, end)]
        assert keys == [b"k%05d" % i for i in range(part, n, 3)], \
            f"partition {part}: {len(keys)} records, {len(set(keys))} distinct"


def wait_registration_gone(zookeeper, b):
    from kazoo.client import KazooClient
    z = KazooClient(hosts=zookeeper.connect + b.chroot)
    z.start(30)
    try:
        wait_for(lambda: not z.exists(f"/brokers/ids/{b.id}"), 60,
                 "the killed broker's registration to expire")
    finally:
        z.stop()
        z.close()


def partition_end(bootstrap, topic, part):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    tp = TopicPartition(topic, part)
    return admin.list_offsets({tp: OffsetSpec.latest()}, request_timeout=30)[tp].result(30).offset


def committed_count(bootstrap, group, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "isolation.level": "read_committed", "enable.auto.commit": False})
    try:
        return sum(max(tp.offset, 0) for tp in
                   c.committed([TopicPartition(topic, part) for part in range(3)], 30))
    except KafkaException:
        return -1
    finally:
        c.close()


def read_view_partition(bootstrap, topic, part, end):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g"),
                  "enable.auto.commit": False, "isolation.level": "read_committed"})
    c.assign([TopicPartition(topic, part, 0)])
    got = []

    def done():
        got.extend((m.offset(), m.key()) for m in c.consume(1000, 0.5) if m.error() is None)
        return c.position([TopicPartition(topic, part)])[0].offset >= end
    wait_for(done, 60, f"a read_committed read of partition {part}")
    c.close()
    return got


def test_kafka_python_transactions(broker):
    """kafka-python's own transactional producer (an implementation
    independent of librdkafka): commit, abort, offsets sent to a
    transaction, and its read_committed consumer."""
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.structs import OffsetAndMetadata
    from kafka.structs import TopicPartition as KTP
    topic, group = unique("kp-txn"), unique("kp-g")
    create_topic(broker.bootstrap, topic)
    group_coordinator_ready(broker.bootstrap, group, topic)
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id=unique("kp-tid"))
    p.init_transactions()
    for i, commit in enumerate((True, False, True)):
        p.begin_transaction()
        for j in range(5):
            p.send(topic, key=b"t%d-%d" % (i, j), value=b"v", partition=0)
        p.flush()
        p.send_offsets_to_transaction({KTP(topic, 0): OffsetAndMetadata(i * 10 + 10, "", -1)},
                                      group)
        if commit:
            p.commit_transaction()
        else:
            p.abort_transaction()
    p.close()
    end = settled_end(broker.bootstrap, topic, 18)    # three transactions of 5 and a marker each
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, isolation_level="read_committed",
                      enable_auto_commit=False, group_id=None)
    c.assign([KTP(topic, 0)])
    c.seek(KTP(topic, 0), 0)
    got = []
    deadline = time.time() + 30
    while c.position(KTP(topic, 0)) < end and time.time() < deadline:
        for recs in c.poll(500).values():
            got.extend(r.key for r in recs)
    c.close()
    assert got == [b"t%d-%d" % (i, j) for i in (0, 2) for j in range(5)]
    assert group_offset(broker.bootstrap, group, topic) == 30
