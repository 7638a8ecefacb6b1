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
from servers import KafkaBroker, SamsaBroker


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


@samsa_only
def test_kafka_and_samsa_take_turns_on_one_log_dir(zookeeper, zk_client, tmp_path):
    chroot = "/takeover-" + uuid.uuid4().hex[:8]
    props = {"log.dirs": str(tmp_path / "logs")}
    (tmp_path / "kafka").mkdir()
    (tmp_path / "samsa").mkdir()
    kafka = KafkaBroker(zookeeper.connect, str(tmp_path / "kafka"), chroot=chroot, props=props)
    samsa = SamsaBroker(zookeeper, str(tmp_path / "samsa"), chroot=chroot, props=props)
    topic = unique("takeover")
    try:
        kafka.start()
        admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
        c = Conn(kafka.port)
        pid, epoch = init_producer_id(c)
        assert produce_idempotent(c, topic, pid, epoch, 0) == (0, 0)
        assert produce_idempotent(c, topic, pid, epoch, 3) == (0, 3)
        c.close()
        assert kafka.stop() == 0

        samsa.start()
        assert retry_then_continue(samsa, topic, pid, epoch, 3) == ((0, 3), (0, 6))
        keys = [(i, b"k%d" % i) for i in range(9)]
        assert read_keys(samsa.bootstrap, topic, 9) == keys
        assert samsa.stop() == 0

        kafka.start()
        assert retry_then_continue(kafka, topic, pid, epoch, 6) == ((0, 6), (0, 9))
        assert read_keys(kafka.bootstrap, topic, 12) == keys + [(i, b"k%d" % i) for i in range(9, 12)]
    finally:
        kafka.stop()
        samsa.stop()
        samsa.assert_no_sanitizer_reports()
