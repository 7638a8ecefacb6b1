"""CreatePartitions in a three-broker cluster (samsa, or Kafka with
SAMSA_TEST_TARGET=kafka), through confluent-kafka's AdminClient: new
partitions are placed exactly where Kafka places them, get leaders and a
full ISR, take records; validate_only changes nothing; refusals carry
Kafka's codes and messages; a broker that is not the controller answers
NOT_CONTROLLER."""
import json

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewPartitions
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.protocol.admin import CreatePartitionsRequest

from cluster import Cluster
from conftest import TARGET, unique, wait_for
from kproto import Conn, call

KIND = "samsa" if TARGET == "samsa" else "kafka"


@pytest.fixture
def cluster(zookeeper, tmp_path):
    c = Cluster(zookeeper, str(tmp_path), [KIND] * 3,
                props={"zookeeper.session.timeout.ms": "6000"}).start()
    yield c
    c.stop()


def assignment(c, topic):
    raw = c._get(f"{c.chroot}/brokers/topics/{topic}")
    return raw and {int(p): r for p, r in json.loads(raw)["partitions"].items()}


def grow(admin, topic, count, replicas=None, validate_only=False):
    new = NewPartitions(topic, count, replicas) if replicas else NewPartitions(topic, count)
    fut = admin.create_partitions([new], validate_only=validate_only)[topic]
    return fut.result(60)


def refusal(admin, topic, count, replicas=None):
    with pytest.raises(KafkaException) as exc:
        grow(admin, topic, count, replicas)
    err = exc.value.args[0]
    return err.code(), err.str()


def raw_grow(c, broker_id, topic, count, replicas=None):
    """CreatePartitions v0 sent to one broker: (error code, message)."""
    conn = Conn(c.broker(broker_id).port)
    r = call(conn, CreatePartitionsRequest[0]([(topic, (count, replicas))], 30000, False))
    conn.close()
    ((name, err, msg),) = r.topic_errors
    assert name == topic
    return err, msg


def test_partitions_are_added_where_kafka_puts_them(cluster):
    c = cluster
    topic = unique("grow")
    kadmin = KafkaAdminClient(bootstrap_servers=c.bootstrap)
    res = kadmin.create_topics([NewTopic(topic, -1, -1, replica_assignments={0: [1, 2, 0], 1: [2, 0, 1]})])
    assert [e[1] for e in res.topic_errors] == [0], res
    kadmin.close()
    admin = AdminClient({"bootstrap.servers": c.bootstrap})
    wait_for(lambda: assignment(c, topic) == {0: [1, 2, 0], 1: [2, 0, 1]}, 30, "the topic")
    # validate_only: checked, nothing written.
    grow(admin, topic, 5, validate_only=True)
    assert assignment(c, topic) == {0: [1, 2, 0], 1: [2, 0, 1]}
    grow(admin, topic, 5)
    # Kafka's placement starts at the broker of partition 0's first replica.
    assert assignment(c, topic) == {0: [1, 2, 0], 1: [2, 0, 1], 2: [0, 2, 1], 3: [1, 2, 0],
                                    4: [2, 0, 1]}
    md = lambda: admin.list_topics(topic, timeout=10).topics[topic].partitions
    wait_for(lambda: len(md()) == 5 and all(p.leader >= 0 and len(p.isrs) == 3 for p in md().values()),
             60, "leaders and full ISRs for the new partitions")
    p = Producer({"bootstrap.servers": c.bootstrap, "acks": "all"})
    delivered = []
    for part in range(5):
        p.produce(topic, b"v", partition=part, on_delivery=lambda e, m: delivered.append((e, m.partition())))
    p.flush(30)
    assert sorted(m for e, m in delivered if e is None) == [0, 1, 2, 3, 4]
    # A manual assignment for two more.
    grow(admin, topic, 7, replicas=[[0, 1, 2], [2, 1, 0]])
    grown = assignment(c, topic)
    assert (grown[5], grown[6]) == ([0, 1, 2], [2, 1, 0])

    # Refusals, with Kafka's messages.
    assert refusal(admin, topic, 3) == (
        KafkaError.INVALID_PARTITIONS, "Topic currently has 7 partitions, which is higher than the requested 3.")
    assert refusal(admin, topic, 7) == (KafkaError.INVALID_PARTITIONS, "Topic already has 7 partitions.")
    # (confluent-kafka refuses a wrong number of assignments locally.)
    assert raw_grow(c, c.controller(), topic, 9, [[0, 1, 2]]) == (
        39, "Increasing the number of partitions by 2 but 1 assignments provided.")
    assert refusal(admin, topic, 8, replicas=[[0, 1, 7]]) == (
        KafkaError.INVALID_REPLICA_ASSIGNMENT, "Unknown broker(s) in replica assignment: 7.")
    assert refusal(admin, topic, 8, replicas=[[0, 1]]) == (
        KafkaError.INVALID_REPLICA_ASSIGNMENT,
        "Inconsistent replication factor between partitions, partition 0 has 3 while partitions [7] have "
        "replication factors [2], respectively.")
    assert refusal(admin, topic, 8, replicas=[[0, 0, 1]]) == (
        KafkaError.INVALID_REPLICA_ASSIGNMENT,
        "Duplicate brokers not allowed in replica assignment: 0, 0, 1 for partition id 7.")
    missing = unique("nosuch")
    assert refusal(admin, missing, 2) == (KafkaError.UNKNOWN_TOPIC_OR_PART,
                                          f"The topic '{missing}' does not exist.")
    assert len(assignment(c, topic)) == 7

    # Only the controller adds partitions.
    other = next(i for i in c.live_ids() if i != c.controller())
    assert raw_grow(c, other, topic, 9) == (41, None)                   # NOT_CONTROLLER
