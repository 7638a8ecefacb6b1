"""Disk work done in the background: a rolled segment is flushed and the
recovery point moves past it; a deleted topic's directory is renamed
(<topic>-<partition>.<id>-delete) and removed; checkpoints keep being
written.  The same checks hold for Kafka, which does this work on its
scheduler threads."""
import os

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import unique, wait_for


def read_checkpoint(logdir, name):
    try:
        with open(os.path.join(logdir, name)) as f:
            lines = f.read().split("\n")
    except FileNotFoundError:
        return {}
    out = {}
    for line in lines[2:]:
        parts = line.split()
        if len(parts) == 3:
            out[(parts[0], int(parts[1]))] = int(parts[2])
    return out


def test_roll_flush_and_delete_in_background(make_broker):
    b = make_broker(props={"log.flush.offset.checkpoint.interval.ms": "300",
                           "log.segment.delete.delay.ms": "500"}).start()
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    topic = unique("disk")
    admin.create_topics([NewTopic(topic, 1, 1, config={"segment.bytes": "4096"})])[topic].result(30)
    p = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 0})
    for i in range(100):            # one record per batch: many small segments
        p.produce(topic, key=b"k%d" % i, value=b"v" * 400)
        assert p.flush(30) == 0
    tdir = os.path.join(b.logdir, f"{topic}-0")
    segments = sorted(f for f in os.listdir(tdir) if f.endswith(".log"))
    assert len(segments) > 5, segments
    last_base = int(segments[-1].split(".")[0])

    def recovered_past_rolls():
        rp = read_checkpoint(b.logdir, "recovery-point-offset-checkpoint").get((topic, 0), -1)
        return rp >= last_base
    wait_for(recovered_past_rolls, 30, "the recovery point to pass the rolled segments")

    admin.delete_topics([topic])[topic].result(30)

    def gone():
        return not any(f == f"{topic}-0" or f.startswith(f"{topic}-0.")
                       for f in os.listdir(b.logdir))
    wait_for(gone, 60, "the deleted log directory to be removed")


@pytest.mark.parametrize("segment_bytes", [None, "100"])
def test_idempotent_producer_state_survives_kill9(make_broker, zk_client, segment_bytes):
    """A batch written before a kill -9 and retried after the restart is
    recognised as a duplicate (its original offset comes back, nothing is
    appended), and sequences continue where they stopped, as with Kafka,
    which rebuilds producer state from its log.  With 100-byte segments
    each batch rolls one: the producer snapshot taken at the roll (Kafka's
    <offset>.snapshot) plus the batches after it give the state."""
    from kproto import Conn, init_producer_id, produce_idempotent
    b = make_broker().start()
    topic = unique("idem")
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    config = {"segment.bytes": segment_bytes} if segment_bytes else {}
    admin.create_topics([NewTopic(topic, 1, 1, config=config)])[topic].result(30)
    c = Conn(b.port)
    pid, epoch = init_producer_id(c)

    def produce(conn, seq):
        return produce_idempotent(conn, topic, pid, epoch, seq)

    assert produce(c, 0) == (0, 0)
    assert produce(c, 3) == (0, 3)
    assert produce(c, 3) == (0, 3)        # a retry before any restart
    c.close()
    if segment_bytes:
        snapshot = os.path.join(b.logdir, f"{topic}-0", "%020d.snapshot" % 3)
        wait_for(lambda: os.path.exists(snapshot), 30, "a producer snapshot at the roll")
    b.kill9()
    # Kafka refuses to start while its previous registration lives.
    wait_for(lambda: not zk_client.exists(f"{b.chroot}/brokers/ids/0"), 60, "the old session to expire")
    b.start()
    c = Conn(b.port)
    assert produce(c, 3) == (0, 3)        # the retry: a duplicate, at its first offset
    assert produce(c, 6) == (0, 6)        # the next batch continues the sequence
    assert produce(c, 10)[0] == 45        # a gap: OUT_OF_ORDER_SEQUENCE_NUMBER
    c.close()
