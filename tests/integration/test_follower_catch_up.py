"""A follower that was away while its leader's log changed catches up as
Kafka's does (samsa, or Kafka with SAMSA_TEST_TARGET=kafka):
- its fetch offset fell below the leader's log start offset (DeleteRecords,
  retention): it starts over at the leader's log start (Kafka's
  handleOutOfRangeError, truncateFullyAndStartAt);
- the leader's log start lies inside a batch: the follower takes the batch
  whole from its base offset (Partition's UnexpectedAppendOffsetException
  case) and then moves its log start up to the leader's;
- the leader's log was compacted and has offset gaps: the follower keeps
  the leader's offsets, gaps included (appendAsFollower).
Each follower log is compared batch by batch with its leader's, and after
a failover the former follower answers every offset and record as its
leader did."""
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from cluster import Cluster, segment_batches
from conftest import TARGET, high_watermark, unique, wait_for
from kproto import Conn, batch, parse_produce_v3_response, produce_v3
from test_retention import delete_records, list_offset

KIND = "samsa" if TARGET == "samsa" else "kafka"
PROPS = {"replica.lag.time.max.ms": "4000", "zookeeper.session.timeout.ms": "6000",
         "offsets.topic.replication.factor": "1", "log.cleaner.backoff.ms": "300"}
LEADER, FOLLOWER = 0, 1


def own_props(broker_id):
    # The follower must keep what it fetched as fetched: its own cleaner
    # would compact the leader's uncleaned tail further.
    return {"log.cleaner.enable": "false"} if broker_id == FOLLOWER else {}


def log_batches(broker, topic):
    """[(base_offset, last_offset, bytes)] of every batch in topic-0's
    segment files, in offset order."""
    return segment_batches(broker.logdir, topic, 0)


def records(broker, topic, start):
    """(offset, key, value) of every record from `start` to the high
    watermark, read from `broker`."""
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("g"),
                  "enable.auto.commit": False, "enable.partition.eof": True})
    high = high_watermark(c, topic)
    c.assign([TopicPartition(topic, 0, start)])
    out, deadline = [], time.time() + 60
    while (not out or out[-1][0] + 1 < high) and time.time() < deadline:
        for m in c.consume(1000, 1.0):
            if not m.error():
                out.append((m.offset(), m.key(), m.value()))
    c.close()
    assert out and out[-1][0] + 1 == high, (out[-1:], high)
    return out


def produce_raw(broker, topic, batches):
    conn = Conn(broker.port)
    offsets = []
    for b in batches:
        ((_t, _p, err, base),) = parse_produce_v3_response(conn.request(0, 3, produce_v3(topic, 0, b)))
        assert err == 0
        offsets.append(base)
    conn.close()
    return offsets


def isr(c, topic):
    st = c.partition_state(topic, 0)
    return sorted(st["isr"]) if st else None


def test_follower_catches_up_below_log_start_in_mid_batch_and_over_compaction_gaps(zookeeper, tmp_path):
    c = Cluster(zookeeper, str(tmp_path), [KIND] * 2, props=PROPS, broker_props=own_props).start()
    try:
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        aligned, straddled, compacted = unique("behind"), unique("midbatch"), unique("gaps")
        compact = {"cleanup.policy": "compact", "segment.bytes": "2048",
                   "min.cleanable.dirty.ratio": "0.01", "min.compaction.lag.ms": "0"}
        new = [NewTopic(aligned, 1, replica_assignment=[[LEADER, FOLLOWER]]),
               NewTopic(straddled, 1, replica_assignment=[[LEADER, FOLLOWER]]),
               NewTopic(compacted, 1, replica_assignment=[[LEADER, FOLLOWER]], config=compact)]
        for f in admin.create_topics(new).values():
            f.result(30)
        for t in (aligned, straddled, compacted):
            wait_for(lambda: isr(c, t) == [LEADER, FOLLOWER], 60, f"{t} fully in sync")
        assert c.terminate(FOLLOWER) == 0
        for t in (aligned, straddled, compacted):
            wait_for(lambda: isr(c, t) == [LEADER], 30, f"{t}'s ISR without the follower")
        leader = c.broker(LEADER)
        # DeleteRecords waits for the replicas of live brokers only.
        solo = AdminClient({"bootstrap.servers": leader.bootstrap})
        wait_for(lambda: set(solo.list_topics(timeout=10).brokers) == {LEADER}, 30,
                 "the leader to see the follower gone")
        now = int(time.time() * 1000)

        # 20 one-record batches, then DeleteRecords at a batch boundary.
        produce_raw(leader, aligned, [batch(1, value=b"a%d" % i, timestamp=now) for i in range(20)])
        assert delete_records(leader, aligned, 0, 15) == (0, 15)
        # One 10-record batch, then DeleteRecords inside it.
        assert produce_raw(leader, straddled, [batch(10, value=b"s", timestamp=now)]) == [0]
        assert delete_records(leader, straddled, 0, 5) == (0, 5)
        # Three keys overwritten 100 times and, every 25th record, a key
        # written once, one record per batch: cleaned, the once-written
        # records stay with gaps between them.
        p = Producer({"bootstrap.servers": leader.bootstrap, "linger.ms": 0, "acks": 1})
        for i in range(300):
            key = b"once%d" % i if i % 25 == 0 else b"hot%d" % (i % 3)
            p.produce(compacted, key=key, value=b"v%d" % i, partition=0)
            p.flush(10)
        assert p.flush(30) == 0

        def cleaned():
            n = sum(b[1] - b[0] + 1 for b in log_batches(leader, compacted))
            return n < 200
        wait_for(cleaned, 60, "the leader to compact the topic")
        # The cleaner has finished when the log stops changing.
        stable = [log_batches(leader, compacted)]

        def settled():
            time.sleep(1.5)
            now_batches = log_batches(leader, compacted)
            same = now_batches == stable[0]
            stable[0] = now_batches
            return same
        wait_for(settled, 60, "the leader's cleaner to settle")
        gaps = [(a[1], b[0]) for a, b in zip(stable[0], stable[0][1:]) if b[0] != a[1] + 1]
        assert gaps, "compaction left no offset gap to replicate over"

        expected = {t: records(leader, t, list_offset(leader, t, -2)) for t in (aligned, straddled, compacted)}
        starts = {t: list_offset(leader, t, -2) for t in (aligned, straddled, compacted)}
        assert starts[aligned] == 15 and starts[straddled] == 5

        c.restart(FOLLOWER)
        for t in (aligned, straddled, compacted):
            wait_for(lambda: isr(c, t) == [LEADER, FOLLOWER], 60, f"the follower back in {t}'s ISR")
        follower = c.broker(FOLLOWER)
        lead = {t: log_batches(leader, t) for t in (aligned, straddled, compacted)}
        # Below the log start: from the leader's log start on, nothing else.
        wait_for(lambda: log_batches(follower, aligned) == [b for b in lead[aligned] if b[0] >= 15],
                 30, "the follower's log to start at the leader's log start")
        # The batch holding the log start, whole, from its base offset.
        wait_for(lambda: log_batches(follower, straddled) == lead[straddled], 30,
                 "the follower to take the straddling batch whole")
        assert lead[straddled][0][0] == 0
        # Every batch of the compacted log, gaps and all.
        wait_for(lambda: log_batches(follower, compacted) == stable[0], 30,
                 "the follower's compacted log to equal the leader's")

        # The former follower leads and answers as its leader did.
        c.kill9(LEADER)
        for t in (aligned, straddled, compacted):
            wait_for(lambda: c.leader(t, 0) == FOLLOWER, 30, f"the follower to lead {t}")
        for t in (aligned, straddled, compacted):
            wait_for(lambda: list_offset(follower, t, -2) == starts[t], 30,
                     f"{t}'s log start offset on the new leader")
            assert records(follower, t, starts[t]) == expected[t], t
    finally:
        c.stop()
