"""Topic deletion as Kafka's controller does it (TopicDeletionManager): a
deleted topic leaves clients' metadata at once, but its znodes stay until
every replica has answered StopReplica, so a broker that was down keeps no
log of it when it returns; meanwhile the name cannot be created again
("is marked for deletion").  Runs on three samsa brokers and on three Kafka
brokers (SAMSA_TEST_TARGET=kafka)."""
import os
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import ROOT, TARGET, unique, wait_for
import sys

sys.path.insert(0, os.path.join(ROOT, "tests"))
from cluster import Cluster  # noqa: E402

KIND = "samsa" if TARGET == "samsa" else "kafka"
PROPS = {"replica.lag.time.max.ms": "4000", "offsets.topic.replication.factor": "3",
         "zookeeper.session.timeout.ms": "6000"}


def produce(bootstrap, topic, values, partition=0):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for v in values:
        p.produce(topic, value=v, partition=partition)
    assert p.flush(30) == 0


def read_all(bootstrap, topic, partition=0):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g"),
                  "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        c.assign([TopicPartition(topic, partition, 0)])
        out = []
        deadline = time.time() + 30
        while time.time() < deadline:
            m = c.poll(1)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    return out
                continue
            out.append(m.value())
        raise AssertionError("no end of partition")
    finally:
        c.close()


def topic_dirs(broker, topic):
    """The broker's live partition directories of topic (not Kafka's
    "-delete" renamed ones)."""
    if not os.path.isdir(broker.logdir):
        return []
    return sorted(d for d in os.listdir(broker.logdir)
                  if d.rsplit("-", 1)[0] == topic and d.rsplit("-", 1)[1].isdigit())


def test_deletion_waits_for_a_replica_that_is_down(zookeeper, tmp_path):
    c = Cluster(zookeeper, str(tmp_path), [KIND] * 3, props=PROPS).start()
    try:
        topic = unique("del")
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        admin.create_topics([NewTopic(topic, 2, 3)])[topic].result(30)
        wait_for(lambda: all(c.partition_state(topic, p) and
                             len(c.partition_state(topic, p)["isr"]) == 3 for p in range(2)),
                 60, "a full ISR")
        produce(c.bootstrap, topic, [b"old-%d" % i for i in range(5)])
        down = next(i for i in range(3) if i != c.controller())
        wait_for(lambda: topic_dirs(c.broker(down), topic) == [f"{topic}-0", f"{topic}-1"], 30,
                 "the replicas on disk")
        c.kill9(down)
        wait_for(lambda: down not in c.live_ids(), 30, "the broker gone from ZooKeeper")
        up = [b for i, b in enumerate(c.brokers) if i != down]
        admin = AdminClient({"bootstrap.servers": ",".join(b.bootstrap for b in up)})
        admin.delete_topics([topic], operation_timeout=30)[topic].result(40)
        # Gone for clients at once ...
        wait_for(lambda: topic not in admin.list_topics(timeout=10).topics, 30,
                 "the topic out of metadata")
        # ... but marked for deletion while a replica is down.
        time.sleep(3)
        assert c.zkc.exists(f"{c.chroot}/admin/delete_topics/{topic}")
        assert c.zkc.exists(f"{c.chroot}/brokers/topics/{topic}")
        def create_error(rf):
            err = admin.create_topics([NewTopic(topic, 1, rf)])[topic].exception(30)
            return (err.args[0].code(), err.args[0].str()) if err else None
        # Kafka checks the replication factor first, then the name.
        assert create_error(3) == (KafkaError.INVALID_REPLICATION_FACTOR,
                                   "Replication factor: 3 larger than available brokers: 2.")
        assert create_error(2) == (KafkaError.TOPIC_ALREADY_EXISTS,
                                   f"Topic '{topic}' is marked for deletion.")
        for b in up:
            wait_for(lambda: topic_dirs(b, topic) == [], 30, "the live replicas deleted")
        assert topic_dirs(c.broker(down), topic) == [f"{topic}-0", f"{topic}-1"]
        # The broker returns: its replicas go, then the topic's znodes.
        c.restart(down)
        wait_for(lambda: not c.zkc.exists(f"{c.chroot}/brokers/topics/{topic}") and
                 not c.zkc.exists(f"{c.chroot}/admin/delete_topics/{topic}"), 60,
                 "the deletion to complete")
        wait_for(lambda: topic_dirs(c.broker(down), topic) == [], 30,
                 "the returning broker's replicas deleted")
        # A new topic of the same name starts empty everywhere, even when
        # the returning broker leads it.
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        assignment = [[down] + [i for i in range(3) if i != down]]
        admin.create_topics([NewTopic(topic, 1,
                                      replica_assignment=assignment)])[topic].result(30)
        wait_for(lambda: c.partition_state(topic, 0) and
                 len(c.partition_state(topic, 0)["isr"]) == 3, 60, "the new topic's ISR")
        produce(c.bootstrap, topic, [b"new"])
        assert read_all(c.bootstrap, topic) == [b"new"]
    finally:
        c.stop()


def test_deleted_log_directory_goes_after_file_delete_delay(make_broker):
    """A deleted topic's log directory is renamed "<topic>-<p>.<id>-delete"
    at once (the name is free for a new topic) and removed only
    file.delete.delay.ms later, as Kafka's LogManager does."""
    from conftest import stop_cleanly
    b = make_broker(props={"log.segment.delete.delay.ms": "4000"}).start()
    try:
        topic = unique("delayed")
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
        produce(b.bootstrap, topic, [b"x"] * 10)

        def renamed():
            return [d for d in os.listdir(b.logdir) if d.startswith(f"{topic}-0.") and d.endswith("-delete")]
        admin.delete_topics([topic])[topic].result(30)
        wait_for(lambda: not topic_dirs(b, topic) and renamed(), 30, "the log renamed for deletion")
        gone_by = time.time() + 4.0
        time.sleep(2.0)
        assert renamed(), "removed before file.delete.delay.ms"
        wait_for(lambda: not renamed(), 30, "the renamed log to be removed")
        assert time.time() >= gone_by - 1.0
    finally:
        stop_cleanly(b)
