"""Migration in place: Apache Kafka 3.9.1 and samsa take turns on the same
log directory, broker id and ZooKeeper chroot.  Each reads what the other
wrote, and an idempotent producer's retry of the last batch the other
broker wrote is recognised as a duplicate (producer state comes from the
log), so a takeover does not write a retried batch twice."""
import uuid

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import samsa_only, unique, wait_for
from kproto import Conn, init_producer_id, produce_idempotent
from servers import DEFAULT_KAFKA_VERSION, KafkaBroker, SamsaBroker


def read_keys(bootstrap, topic, n):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g"), "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    wait_for(lambda: got.extend((m.offset(), m.key()) for m in c.consume(100, 0.5) if m.error() is None)
             or len(got) >= n, 60, f"{n} records")
    c.close()
    return got


def retry_then_continue(broker, topic, pid, epoch, last_seq):
    """The other broker's last batch (sequence last_seq) is retried, then
    the next one is sent; both answers are returned."""
    c = Conn(broker.port)
    try:
        return (produce_idempotent(c, topic, pid, epoch, last_seq),
                produce_idempotent(c, topic, pid, epoch, last_seq + 3))
    finally:
        c.close()


def brokers_on_one_log_dir(zookeeper, tmp_path, kafka_version=DEFAULT_KAFKA_VERSION):
    """A Kafka broker (of kafka_version) and a samsa broker (not started)
    with the same broker id, log directory and ZooKeeper chroot."""
    chroot = "/takeover-" + uuid.uuid4().hex[:8]
    props = {"log.dirs": str(tmp_path / "logs")}
    (tmp_path / "kafka").mkdir()
    (tmp_path / "samsa").mkdir()
    return (KafkaBroker(zookeeper.connect, str(tmp_path / "kafka"), chroot=chroot, props=props,
                        version=kafka_version),
            SamsaBroker(zookeeper, str(tmp_path / "samsa"), chroot=chroot, props=props))


def first_two_batches(broker, topic):
    """broker creates the topic and takes an idempotent producer's first two
    batches of three records (offsets 0-5), then stops cleanly."""
    broker.start()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    c = Conn(broker.port)
    pid, epoch = init_producer_id(c)
    assert produce_idempotent(c, topic, pid, epoch, 0) == (0, 0)
    assert produce_idempotent(c, topic, pid, epoch, 3) == (0, 3)
    c.close()
    assert broker.stop() == 0
    return pid, epoch


def take_over(broker, topic, pid, epoch, last_seq):
    """broker starts on the log the other one left: the retry of that one's
    last batch (sequence last_seq) is a duplicate at its offset, the next
    batch follows it, and every record reads back in order."""
    broker.start()
    assert retry_then_continue(broker, topic, pid, epoch, last_seq) == ((0, last_seq), (0, last_seq + 3))
    n = last_seq + 6
    assert read_keys(broker.bootstrap, topic, n) == [(i, b"k%d" % i) for i in range(n)]
    assert broker.stop() == 0


def take_turns(zookeeper, tmp_path, first, topic, after_first=None):
    """The first broker ("kafka" or "samsa") writes two batches, the other
    takes over, then the first takes over again."""
    kafka, samsa = brokers_on_one_log_dir(zookeeper, tmp_path)
    one, other = (kafka, samsa) if first == "kafka" else (samsa, kafka)
    try:
        pid, epoch = first_two_batches(one, topic)
        if after_first:
            after_first()
        take_over(other, topic, pid, epoch, 3)
        take_over(one, topic, pid, epoch, 6)
    finally:
        kafka.stop()
        samsa.stop()
        samsa.assert_no_sanitizer_reports()


@samsa_only
def test_kafka_and_samsa_take_turns_on_one_log_dir(zookeeper, zk_client, tmp_path):
    take_turns(zookeeper, tmp_path, "kafka", unique("takeover"))


@samsa_only
def test_kafka_keeps_producer_state_of_a_log_only_samsa_wrote(zookeeper, zk_client, tmp_path):
    """A partition created and written by samsa alone, taken over by Kafka
    after a clean shutdown: Kafka trusts producer-state snapshots there
    (without any it starts with no producer state), so samsa's
    <offset>.snapshot must carry the sequences for Kafka to recognise the
    retry of samsa's last batch as a duplicate."""
    topic = unique("snapshot")

    def snapshot_written():
        names = sorted(p.name for p in (tmp_path / "logs" / f"{topic}-0").glob("*.snapshot"))
        assert names and names[-1] == "%020d.snapshot" % 6, names
    take_turns(zookeeper, tmp_path, "samsa", topic, snapshot_written)


@samsa_only
def test_kafka_finds_the_largest_timestamp_of_a_segment_samsa_closed(zookeeper, tmp_path):
    """samsa writes less than one index interval, so the active segment's
    time index has no entry until samsa closes it; Kafka, taking over,
    takes the segment's largest timestamp from that last entry (before,
    it answered -3 with -1)."""
    from confluent_kafka.admin import OffsetSpec
    from test_lookups import expected_max, list_offset, produce_all, read_back
    kafka, samsa = brokers_on_one_log_dir(zookeeper, tmp_path)
    topic = unique("maxts")
    try:
        samsa.start()
        admin = AdminClient({"bootstrap.servers": samsa.bootstrap})
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
        produce_all(samsa.bootstrap, topic, [1_700_000_000_000 + t for t in (5, 90, 40, 90, 7)], "none")
        records = read_back(samsa.bootstrap, topic, 5)
        assert samsa.stop() == 0
        kafka.start()
        admin = AdminClient({"bootstrap.servers": kafka.bootstrap})

        def answer():
            try:
                return list_offset(admin, topic, OffsetSpec.max_timestamp())
            except Exception:
                return None         # not led yet
        got = wait_for(answer, 60, "Kafka's answer to -3")
        assert got == expected_max(records) == (1, 1_700_000_000_090, records[1][2])
        assert kafka.stop() == 0
    finally:
        kafka.stop()
        samsa.stop()
        samsa.assert_no_sanitizer_reports()
