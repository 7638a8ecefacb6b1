"""Transactions in a cluster of Apache Kafka and samsa brokers: a Kafka
3.9 (or 2.8) broker and two samsa brokers each lead a partition of one
topic and each coordinate transactional ids.  A transaction coordinated
by either kind writes to partitions led by both, so each kind sends
WriteTxnMarkers to the other, and each kind of leader verifies a
transaction's first batch with the other kind of coordinator
(AddPartitionsToTxn v4, KIP-890) -- 2.8 knows no verification, and samsa
leaders then append unverified, as Kafka 3.9 leaders do."""
import struct

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from cluster import Cluster
from conftest import samsa_only, unique, wait_for
from kproto import Conn, kstr
from test_transactions import produce_txn_v3, txn_batch

PARTS = 3
PER_TXN = 10


def create_assigned(bootstrap, topic, assignment):
    """A topic whose partition p lives on the brokers assignment[p]."""
    from kafka.admin import KafkaAdminClient, NewTopic
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, -1, -1, replica_assignments=dict(enumerate(assignment)))])
    finally:
        admin.close()


def find_coordinator(port, tid):
    """FindCoordinator v1 for a transactional id: (error, node id)."""
    c = Conn(port)
    try:
        body = c.request(10, 1, kstr(tid) + b"\x01")
        err, = struct.unpack_from(">h", body, 4)
        mlen, = struct.unpack_from(">h", body, 6)
        node, = struct.unpack_from(">i", body, 8 + max(mlen, 0))
        return err, node
    finally:
        c.close()


def ids_by_coordinator(c):
    """A transactional id coordinated by the Kafka broker (0) and one by a
    samsa broker (1 or 2)."""
    found = {}

    def look():
        tid = unique("mixed-tid")
        err, node = find_coordinator(c.broker(1).port, tid)
        if err == 0:
            found.setdefault("kafka" if node == 0 else "samsa", (tid, node))
        return len(found) == 2
    wait_for(look, 120, "transactional ids coordinated by each kind")
    return found


def run_transactions(bootstrap, tid, topic):
    """Commit, abort, commit: PER_TXN records to every partition each time.
    Returns the keys the committed ones wrote."""
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": tid, "linger.ms": 5})
    p.init_transactions(60)
    committed = set()
    for n, commit in enumerate((True, False, True)):
        p.begin_transaction()
        keys = [f"{tid}-{n}-{part}-{i}" for part in range(PARTS) for i in range(PER_TXN)]
        for k in keys:
            p.produce(topic, key=k.encode(), value=b"v", partition=int(k.split("-")[-2]))
        p.flush(60)
        if commit:
            p.commit_transaction(60)
            committed.update(keys)
        else:
            p.abort_transaction(60)
    return committed


def read_committed(bootstrap, topic, want):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g"),
                  "enable.auto.commit": False, "isolation.level": "read_committed"})
    c.assign([TopicPartition(topic, p, 0) for p in range(PARTS)])
    got = []

    def read():
        got.extend(m.key().decode() for m in c.consume(1000, 0.5) if m.error() is None)
        return len(got) >= want
    try:
        wait_for(read, 90, f"{want} committed records")
        for _ in range(3):
            read()
        return got
    finally:
        c.close()


@samsa_only
@pytest.mark.parametrize("kafka_version,ibp", [("3.9.1", "3.9"), ("2.8.2", "2.8")])
def test_transactions_across_kafka_and_samsa(zookeeper, tmp_path, kafka_version, ibp):
    c = Cluster(zookeeper, str(tmp_path), ["kafka", "samsa", "samsa"],
                props={"inter.broker.protocol.version": ibp,
                       "offsets.topic.replication.factor": "1",
                       "transaction.state.log.replication.factor": "1",
                       "transaction.state.log.min.isr": "1",
                       "transaction.state.log.num.partitions": "6"},
                kafka_version=kafka_version).start()
    try:
        topic = unique("mixedtxn")
        create_assigned(c.bootstrap, topic, [[0], [1], [2]])
        wait_for(lambda: all(c.leader(topic, p) == p for p in range(PARTS)), 60, "each broker leading")
        ids = ids_by_coordinator(c)
        committed = set()
        for kind, (tid, node) in ids.items():
            committed |= run_transactions(c.bootstrap, tid, topic)
        got = read_committed(c.bootstrap, topic, len(committed))
        assert len(got) == len(committed) and set(got) == committed

        # A batch that would open a transaction on a partition never added
        # to it, sent to each kind of leader, for each kind of coordinator.
        verifying = kafka_version.startswith("3.")
        for kind, (tid, node) in ids.items():
            cc = Conn(c.broker(node).port)
            try:
                body = cc.request(22, 1, kstr(tid) + struct.pack(">i", 60000))
                err, pid, epoch = struct.unpack(">ihqh", body[:16])[1:]
                assert err == 0
            finally:
                cc.close()
            for leader in range(PARTS):
                late = unique("late")
                create_assigned(c.bootstrap, late, [[leader]])
                wait_for(lambda: c.leader(late, 0) == leader, 60, f"{late} led by {leader}")
                conn = Conn(c.broker(leader).port)
                try:
                    def produce():
                        r = produce_txn_v3(conn, tid, late, txn_batch(pid, epoch, 0))
                        return r if r[0] not in (3, 6, 19) else None
                    err, _ = wait_for(produce, 60, "a produce answer")
                finally:
                    conn.close()
                # Verified: refused.  Kafka 2.8 leaders do not verify;
                # samsa leaders skip a 2.8 coordinator that cannot answer.
                if verifying or (leader != 0 and node != 0):
                    want = 48
                else:
                    want = 0
                assert err == want, (kind, leader, err)
    finally:
        c.stop()
        for i in (1, 2):
            c.broker(i).assert_no_sanitizer_reports()
