"""Disk work done in the background: a rolled segment is flushed and the
recovery point moves past it; a deleted topic's directory is renamed
(<topic>-<partition>.<id>-delete) and removed; checkpoints keep being
written.  The same checks hold for Kafka, which does this work on its
scheduler threads."""
import os

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


def idempotent_batch(pid, epoch, seq, n=3):
    """Timestamps are now: a producer whose last batch is older than
    producer.id.expiration.ms (a day) is forgotten when a log loads."""
    import time
    from kafka.record.default_records import DefaultRecordBatchBuilder
    now = int(time.time() * 1000)
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False,
                                  producer_id=pid, producer_epoch=epoch, base_sequence=seq,
                                  batch_size=1 << 20)
    for i in range(n):
        b.append(i, timestamp=now + i, key=b"k%d" % (seq + i), value=b"v", headers=[])
    return bytes(b.build())


def test_idempotent_producer_state_survives_kill9(make_broker, zk_client):
    """A batch written before a kill -9 and retried after the restart is
    recognised as a duplicate (its original offset comes back, nothing is
    appended), and sequences continue where they stopped, as with Kafka,
    which rebuilds producer state from its log."""
    import struct
    from kproto import Conn, parse_produce_v3_response, produce_v3
    b = make_broker().start()
    topic = unique("idem")
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    c = Conn(b.port)
    ids = {}

    def init_producer_id():          # InitProducerId v0; Kafka may still be loading
        _, ids["err"], ids["pid"], ids["epoch"] = struct.unpack(">ihqh", c.request(22, 0, struct.pack(
            ">hi", -1, 60000))[:16])
        return ids["err"] == 0
    wait_for(init_producer_id, 30, "a producer id")
    pid, epoch = ids["pid"], ids["epoch"]

    def produce(conn, seq):
        """Sends the batch once it can be taken (errors 3 and 6 are
        retriable right after a start, and refused batches are not
        written); returns (error, base offset)."""
        out = {}

        def once():
            r = parse_produce_v3_response(conn.request(0, 3, produce_v3(topic, 0, idempotent_batch(pid, epoch, seq),
                                                                          acks=-1)))
            out["r"] = r[0][2:]
            return out["r"][0] not in (3, 6)
        wait_for(once, 30, "a leader")
        return out["r"]

    assert produce(c, 0) == (0, 0)
    assert produce(c, 3) == (0, 3)
    assert produce(c, 3) == (0, 3)        # a retry before any restart
    c.close()
    b.kill9()
    # Kafka refuses to start while its previous registration lives.
    wait_for(lambda: not zk_client.exists(f"{b.chroot}/brokers/ids/0"), 60, "the old session to expire")
    b.start()
    c = Conn(b.port)
    assert produce(c, 3) == (0, 3)        # the retry: a duplicate, at its first offset
    assert produce(c, 6) == (0, 6)        # the next batch continues the sequence
    assert produce(c, 10)[0] == 45        # a gap: OUT_OF_ORDER_SEQUENCE_NUMBER
    c.close()
