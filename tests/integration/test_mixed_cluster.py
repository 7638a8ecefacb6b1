"""A samsa broker in a cluster with an Apache Kafka broker as the
controller, as a rolling migration has it: the Java controller's
LeaderAndIsr, UpdateMetadata and StopReplica requests are answered, the
partitions the controller gives samsa are served to clients, and topic
deletion (which waits for every replica's StopReplica answer) completes."""
import os
import struct
import uuid

import pytest

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import samsa_only, unique, wait_for
from kproto import Conn, kstr
from servers import KafkaBroker, SamsaBroker
from cluster import AckedLog, Cluster, check_acked

PARTITIONS = 4
RECORDS = 400


def leaders(bootstrap, topic):
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10)
    t = md.topics.get(topic)
    if t is None or t.error is not None:
        return None
    return {p: m.leader for p, m in t.partitions.items()}


def consume_all(bootstrap, topic, count):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g"), "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    got = {}
    wait_for(lambda: [got.setdefault(m.key(), (m.partition(), m.offset(), m.value()))
                      for m in c.consume(1000, 0.5) if m.error() is None] is not None and len(got) >= count,
             60, "every record")
    c.close()
    return got


@samsa_only
def test_samsa_broker_under_a_kafka_controller(zookeeper, zk_client, tmp_path):
    chroot = "/mixed-" + uuid.uuid4().hex[:8]
    kafka = KafkaBroker(zookeeper.connect, str(tmp_path / "kafka"), broker_id=1, chroot=chroot).start()
    os.makedirs(tmp_path / "samsa")
    samsa = SamsaBroker(zookeeper, str(tmp_path / "samsa"), broker_id=0, chroot=chroot).start()
    try:
        controller = zk_client.get(f"{chroot}/controller")[0].decode()
        assert '"brokerid":1' in controller.replace(" ", "")
        wait_for(lambda: zk_client.exists(f"{chroot}/brokers/ids/0") is not None, 30, "samsa registered")
        bootstrap = f"{kafka.bootstrap},{samsa.bootstrap}"
        topic = unique("mixed")
        admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
        # Kafka assigns replicas over the brokers its metadata cache knows:
        # wait until its controller has told it of the samsa broker.
        wait_for(lambda: set(admin.list_topics(timeout=10).brokers) == {0, 1}, 30,
                 "Kafka's metadata to list both brokers")
        admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(30)
        wait_for(lambda: (leaders(bootstrap, topic) or {}).keys() == set(range(PARTITIONS)) and
                 all(l >= 0 for l in leaders(bootstrap, topic).values()), 60, "leaders")
        led = leaders(bootstrap, topic)
        assert set(led.values()) == {0, 1}, f"the controller should spread partitions: {led}"
        wait_for(lambda: "Handling LeaderAndIsr request" in samsa.log_text(), 30,
                 "the controller's LeaderAndIsr at samsa")

        p = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
        acked = {}
        for i in range(RECORDS):
            key = f"k{i}".encode()
            p.produce(topic, key=key, value=b"v" + key, partition=i % PARTITIONS,
                      on_delivery=lambda err, m: acked.__setitem__(m.key(), (m.partition(), m.offset()))
                      if err is None else None)
        assert p.flush(60) == 0
        assert len(acked) == RECORDS
        got = consume_all(bootstrap, topic, RECORDS)
        assert {k: v[:2] for k, v in got.items()} == acked
        assert all(v[2] == b"v" + k for k, v in got.items())

        # Deletion finishes only once every replica answered StopReplica.
        admin.delete_topics([topic])[topic].result(30)
        wait_for(lambda: zk_client.exists(f"{chroot}/brokers/topics/{topic}") is None and
                 zk_client.exists(f"{chroot}/admin/delete_topics/{topic}") is None, 60,
                 "the controller to finish deleting the topic")
        samsa_parts = [i for i, l in led.items() if l == 0]
        wait_for(lambda: not any(os.path.isdir(os.path.join(samsa.logdir, f"{topic}-{i}"))
                                 for i in samsa_parts), 30, "samsa's replicas to be deleted")
        log = samsa.log_text()
        assert "Handled StopReplica request" in log
        assert "unsupported API key" not in log
        assert "STALE" not in log
    finally:
        samsa.stop()
        kafka.stop()
        samsa.assert_no_sanitizer_reports()


def update_metadata_v0(controller_epoch, broker_id, port):
    """UpdateMetadata v0 naming only the broker itself as live."""
    return (struct.pack(">ii", 5, controller_epoch) + struct.pack(">i", 0) +
            struct.pack(">ii", 1, broker_id) + kstr("127.0.0.1") + struct.pack(">i", port))


def stop_replica_v1(controller_epoch, broker_epoch, topic):
    return (struct.pack(">iiqb", 5, controller_epoch, broker_epoch, 0) + struct.pack(">i", 1) +
            kstr(topic) + struct.pack(">ii", 1, 0))


def test_controller_requests_are_fenced(make_broker):
    """A controller request from an older controller epoch gets
    STALE_CONTROLLER_EPOCH (11) and one for an older registration of this
    broker STALE_BROKER_EPOCH (77), as Kafka answers them."""
    b = make_broker().start()
    c = Conn(b.port)
    try:
        assert struct.unpack(">h", c.request(6, 0, update_metadata_v0(100, b.id, b.port))[:2])[0] == 0
        assert struct.unpack(">h", c.request(6, 0, update_metadata_v0(5, b.id, b.port))[:2])[0] == 11
        body = c.request(5, 1, stop_replica_v1(100, 1, unique("gone")))
        assert struct.unpack(">h", body[:2])[0] == 77
        body = c.request(5, 1, stop_replica_v1(7, -1, unique("gone")))
        assert struct.unpack(">h", body[:2])[0] == 11
        # The connection is still served.
        assert struct.unpack(">h", c.request(6, 0, update_metadata_v0(100, b.id, b.port))[:2])[0] == 0
    finally:
        c.close()


@samsa_only
def test_samsa_broker_restarts_and_session_expiry_under_a_kafka_controller(zookeeper, tmp_path):
    """Faults on the samsa broker while a producer with acks=all keeps
    writing: kill -9 and restart, then a ZooKeeper session expiry (a new
    registration, so a new broker epoch the controller's requests carry).
    Every acknowledged record is read back where it was acknowledged, and
    the idempotent producer's retries leave no duplicate (samsa rebuilds
    producer state from its log when it restarts)."""
    c = Cluster(zookeeper, str(tmp_path), ["samsa", "kafka"]).start()
    try:
        assert c.controller() == 1
        topic = unique("faults")
        admin = AdminClient({"bootstrap.servers": c.broker(1).bootstrap})
        admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(30)
        wait_for(lambda: all(c.leader(topic, p) in (0, 1) for p in range(PARTITIONS)), 60, "leaders")
        assert {c.leader(topic, p) for p in range(PARTITIONS)} == {0, 1}
        log = AckedLog(c.bootstrap, topic, PARTITIONS, idempotent=True).start()
        wait_for(lambda: len(log.acked) >= 200, 60, "acknowledged records")
        c.kill9(0)
        c.restart(0)
        n = len(log.acked)
        wait_for(lambda: len(log.acked) >= n + 400, 120, "acks after the restart")
        before, after = c.expire_session(0)
        n = len(log.acked)
        wait_for(lambda: len(log.acked) >= n + 400, 120, "acks after the session expiry")
        log.stop()
        assert not log.failed, log.failed[:3]
        assert not log.refused, log.refused[:3]
        assert check_acked(c.bootstrap, topic, PARTITIONS, log.acked, cluster=c) >= len(log.acked)
        text = c.broker(0).log_text()
        assert "STALE_BROKER_EPOCH" not in text and "Received LeaderAndIsr request with broker epoch" not in text
    finally:
        c.stop()
        c.broker(0).assert_no_sanitizer_reports()


def leader_and_isr_v0(controller_epoch, topic, broker_id):
    state = (kstr(topic) + struct.pack(">iiii", 0, controller_epoch, broker_id, 1) +
             struct.pack(">ii", 1, broker_id) + struct.pack(">i", 1) + struct.pack(">ii", 1, broker_id))
    return struct.pack(">iii", 5, controller_epoch, 1) + state + struct.pack(">i", 0)


@samsa_only
def test_leader_and_isr_for_a_path_is_refused(make_broker):
    """A LeaderAndIsr naming a "topic" that is a path creates no directory
    anywhere: UNKNOWN_TOPIC_OR_PARTITION, and the connection goes on."""
    b = make_broker().start()
    c = Conn(b.port)
    try:
        for name in ("../escape", "a/b", ".."):
            body = c.request(4, 0, leader_and_isr_v0(100, name, b.id))
            (err, n) = struct.unpack_from(">hi", body, 0)
            assert err == 0 and n == 1
            assert struct.unpack_from(">h", body, len(body) - 2)[0] == 3
        assert not os.path.exists(os.path.join(b.logdir, "..", "escape-0"))
        assert not [d for d in os.listdir(b.logdir) if "escape" in d or d.startswith("a")]
        assert struct.unpack(">h", c.request(6, 0, update_metadata_v0(100, b.id, b.port))[:2])[0] == 0
    finally:
        c.close()


def replica_bytes(b, topic, p):
    import glob
    files = sorted(glob.glob(os.path.join(b.logdir, f"{topic}-{p}", "*.log")))
    return b"".join(open(f, "rb").read() for f in files)


def isr_of(c, topic, p):
    st = c.partition_state(topic, p)
    return sorted(st["isr"]) if st else []


@samsa_only
@pytest.mark.parametrize("kafka_version,ibp", [("3.9.1", "3.9"), ("2.8.2", "2.8")])
def test_replicated_mixed_cluster_each_kind_controller_in_turn(zookeeper, tmp_path, kafka_version, ibp):
    """One Kafka broker (3.9, or 2.8 at inter.broker.protocol.version 2.8)
    and two samsa brokers replicate RF=3 topics together, each kind
    following the other (Java 3.9 fetching from samsa with Fetch v17 and
    topic ids, 2.8 with v12; samsa from Java with Fetch v12), and each kind
    is controller in turn: Kafka first; after its kill -9 a samsa broker
    controls the restarted Java broker (LeaderAndIsr v7/v5, UpdateMetadata
    v8/v7, its AlterPartition/AlterIsr and, at 3.9, AllocateProducerIds);
    then that samsa controller is killed too.  An idempotent acks=all producer keeps writing; every
    acknowledged record is read back and the three replicas end byte-identical."""
    c = Cluster(zookeeper, str(tmp_path), ["kafka", "samsa", "samsa"],
                props={"offsets.topic.replication.factor": "3", "replica.lag.time.max.ms": "5000",
                       "inter.broker.protocol.version": ibp},
                kafka_version=kafka_version).start()
    try:
        assert c.controller() == 0
        topic = unique("mixedrep")
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        admin.create_topics([NewTopic(topic, 3, 3, config={"min.insync.replicas": "2"})])[topic].result(30)
        whole = lambda: all(isr_of(c, topic, p) == [0, 1, 2] for p in range(3))
        wait_for(whole, 60, "full ISRs under the Kafka controller")
        assert {c.leader(topic, p) for p in range(3)} == {0, 1, 2}
        log = AckedLog(c.bootstrap, topic, 3, idempotent=True, rate=200).start()
        wait_for(lambda: len(log.acked) >= 300, 60, "acknowledged records")
        # The Java controller dies: a samsa broker takes over.
        c.kill9(0)
        wait_for(lambda: c.controller() in (1, 2), 30, "a samsa controller")
        n = len(log.acked)
        wait_for(lambda: len(log.acked) >= n + 300, 60, "acks under the samsa controller")
        c.restart(0)
        wait_for(whole, 90, "the Java broker back in every ISR under the samsa controller")
        # It leads again when the samsa controller moves leadership to it:
        # kill the samsa controller; the remaining brokers elect.
        ctl = c.controller()
        c.kill9(ctl)
        wait_for(lambda: c.controller() not in (None, ctl), 30, "the next controller")
        n = len(log.acked)
        wait_for(lambda: len(log.acked) >= n + 300, 60, "acks after the second controller's death")
        c.restart(ctl)
        wait_for(whole, 90, "every ISR whole again")
        log.stop()
        assert not log.failed, log.failed[:3]
        check_acked(c.bootstrap, topic, 3, log.acked, cluster=c)
        for p in range(3):
            wait_for(lambda: len({replica_bytes(c.broker(i), topic, p) for i in range(3)}) == 1, 60,
                     f"partition {p} byte-identical on Kafka and samsa")
        # Deleted under whichever controller now runs: every broker, the
        # Java one included (StopReplica), lets its logs go.
        # The controller moved twice: a client may still name the old one
        # and hear NOT_CONTROLLER (Java's AdminClient retries; librdkafka
        # reports it), so ask again.
        def delete():
            try:
                admin.delete_topics([topic])[topic].result(60)
                return True
            except Exception as e:
                if "NOT_CONTROLLER" not in str(e) and "UNKNOWN_TOPIC" not in str(e):
                    raise
                return "UNKNOWN_TOPIC" in str(e)
        wait_for(delete, 60, "the topic deleted")
        live_dirs = lambda b: [p for p in range(3) if os.path.isdir(os.path.join(b.logdir, f"{topic}-{p}"))]
        wait_for(lambda: not any(live_dirs(c.broker(i)) for i in range(3)), 60,
                 "every replica's log deleted")
    finally:
        c.stop()
        for i in (1, 2):
            c.broker(i).assert_no_sanitizer_reports()


@samsa_only
def test_migration_by_reassignment_under_each_controller(zookeeper, tmp_path, tmp_path_factory):
    """Rolling migration's data move: a topic that lives only on a Java
    broker is reassigned onto two samsa brokers by Kafka's controller
    (kafka-reassign-partitions), the Java replica's log goes and every
    record is served by samsa; then, with a samsa broker as controller,
    part of it is moved back onto the Java broker, which catches up from
    samsa byte for byte."""
    from test_reassignment import plan_file, reassign_tool
    c = Cluster(zookeeper, str(tmp_path), ["kafka", "samsa", "samsa"],
                props={"offsets.topic.replication.factor": "1", "replica.lag.time.max.ms": "5000",
                       "auto.leader.rebalance.enable": "false"}).start()
    try:
        assert c.controller() == 0
        topic = unique("migrate")
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        wait_for(lambda: set(admin.list_topics(timeout=10).brokers) == {0, 1, 2}, 30,
                 "Kafka's metadata to list every broker")
        admin.create_topics([NewTopic(topic, 2, replica_assignment=[[0], [0]])])[topic].result(30)
        wait_for(lambda: leaders(c.bootstrap, topic) == {0: 0, 1: 0}, 30, "the Java broker leading")
        p = Producer({"bootstrap.servers": c.bootstrap, "acks": "all"})
        for i in range(RECORDS):
            p.produce(topic, key=f"k{i}".encode(), value=f"v{i}".encode(), partition=i % 2)
        assert p.flush(30) == 0

        def move(targets, avoid=()):
            plan = plan_file(tmp_path_factory.mktemp("plan"), topic, targets)
            reassign_tool(c, "--reassignment-json-file", plan, "--execute", avoid=avoid)
            done = lambda: all(f"Reassignment of partition {topic}-{q} is completed." in
                               reassign_tool(c, "--reassignment-json-file", plan, "--verify",
                                             "--preserve-throttles", avoid=avoid).stdout
                               for q in targets)
            wait_for(done, 90, f"the reassignment {targets} to complete")

        move({0: [1, 2], 1: [2, 1]})
        has = lambda b, q: os.path.isdir(os.path.join(c.broker(b).logdir, f"{topic}-{q}"))
        wait_for(lambda: not has(0, 0) and not has(0, 1), 30, "the Java replicas' logs to go")
        assert leaders(c.bootstrap, topic) == {0: 1, 1: 2}
        got = consume_all(c.bootstrap, topic, RECORDS)
        assert {k: v for k, (_, _, v) in got.items()} == {f"k{i}".encode(): f"v{i}".encode()
                                                           for i in range(RECORDS)}
        # A samsa controller moves partition 0 back onto the Java broker.
        c.kill9(0)
        wait_for(lambda: c.controller() in (1, 2), 30, "a samsa controller")
        c.restart(0)
        move({0: [0, 1]})
        wait_for(lambda: not has(2, 0), 30, "broker 2's replica of partition 0 to go")
        wait_for(lambda: replica_bytes(c.broker(0), topic, 0) == replica_bytes(c.broker(1), topic, 0),
                 60, "the Java replica byte-identical with samsa's")
        wait_for(lambda: isr_of(c, topic, 0) == [0, 1], 30, "ISR [0, 1]")
        got = consume_all(c.bootstrap, topic, RECORDS)
        assert len(got) == RECORDS
    finally:
        c.stop()
        for i in (1, 2):
            c.broker(i).assert_no_sanitizer_reports()
