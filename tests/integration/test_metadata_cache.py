"""A broker's metadata cache is what the controller tells it (UpdateMetadata),
not what ZooKeeper holds, as in Kafka's ZooKeeper mode: while the controller
is paused, a broker registration or a topic written straight into ZooKeeper
(as Kafka 2.x's --zookeeper tools did) does not reach clients through the
other brokers; once the controller runs again and tells them, it does, and a
registration that goes leaves their answers the same way.  Runs on three
samsa brokers and on three Kafka brokers (SAMSA_TEST_TARGET=kafka)."""
import json
import os
import signal
import sys
import time

from kafka.protocol.metadata import MetadataRequest

from conftest import ROOT, TARGET, unique, wait_for
from kproto import Conn, call, describe_configs_v3

sys.path.insert(0, os.path.join(ROOT, "tests"))
from cluster import Cluster  # noqa: E402

KIND = "samsa" if TARGET == "samsa" else "kafka"
# Long enough that pausing the controller for a few seconds keeps its
# session (and so its role).
PROPS = {"zookeeper.session.timeout.ms": "15000"}
PAUSE_S = 3
UNKNOWN_TOPIC_OR_PARTITION = 3


def metadata(port, topics=None):
    """Metadata v7 from one broker: ({node id: (host, port)}, {topic:
    (error, {partition: (leader, replicas)})}); topics=None asks for all."""
    c = Conn(port)
    try:
        r = call(c, MetadataRequest[7](topics=topics, allow_auto_topic_creation=False))
    finally:
        c.close()
    brokers = {b[0]: (b[1], b[2]) for b in r.brokers}
    topics_out = {}
    for t in r.topics:
        err, name, parts = t[0], t[1], t[3]
        topics_out[name] = (err, {p[1]: (p[2], sorted(p[4])) for p in parts})
    return brokers, topics_out


def registration(port):
    """A broker registration as Kafka 3.x writes it (version 5)."""
    return json.dumps({
        "listener_security_protocol_map": {"PLAINTEXT": "PLAINTEXT"},
        "endpoints": [f"PLAINTEXT://127.0.0.1:{port}"], "jmx_port": -1, "features": {},
        "host": "127.0.0.1", "timestamp": str(int(time.time() * 1000)), "port": port,
        "version": 5}).encode()


def paused(c, broker_id):
    """A context that holds a broker in SIGSTOP."""
    class Paused:
        def __enter__(self):
            os.kill(c.broker(broker_id).proc.pid, signal.SIGSTOP)

        def __exit__(self, *exc):
            os.kill(c.broker(broker_id).proc.pid, signal.SIGCONT)
    return Paused()


def start_cluster(zookeeper, tmp_path):
    c = Cluster(zookeeper, str(tmp_path), [KIND] * 3, props=PROPS).start()
    wait_for(lambda: c.controller() is not None, 60, "a controller")
    ctl = c.controller()
    observers = [i for i in range(3) if i != ctl]
    wait_for(lambda: all(set(metadata(c.broker(i).port)[0]) == {0, 1, 2} for i in observers),
             60, "every broker listing the three brokers")
    return c, ctl, observers


def test_live_brokers_come_from_the_controller(zookeeper, tmp_path):
    c, ctl, observers = start_cluster(zookeeper, tmp_path)
    try:
        path = f"{c.chroot}/brokers/ids/99"
        with paused(c, ctl):
            c.zkc.create(path, registration(1), ephemeral=True)
            time.sleep(PAUSE_S)
            for i in observers:
                assert set(metadata(c.broker(i).port)[0]) == {0, 1, 2}, \
                    f"broker {i} listed a registration no controller announced"
        # The controller sees the new broker and tells everyone, with the
        # registration's endpoint.
        for i in observers + [ctl]:
            wait_for(lambda: 99 in metadata(c.broker(i).port)[0], 30,
                     f"broker {i} to list broker 99")
            assert metadata(c.broker(i).port)[0][99] == ("127.0.0.1", 1)
        c.zkc.delete(path)
        for i in observers + [ctl]:
            wait_for(lambda: set(metadata(c.broker(i).port)[0]) == {0, 1, 2}, 30,
                     f"broker {i} to drop broker 99")
    finally:
        c.stop()


def test_topics_written_to_zookeeper_wait_for_the_controller(zookeeper, tmp_path):
    """A topic written into ZooKeeper (config, then assignment, as Kafka
    2.x's kafka-topics --zookeeper did) is not answered for, and gets no
    log, on brokers that are not the controller until the controller tells
    them; then each replica leads or follows it with the topic's own config
    (read when it first hears of the topic): LogAppendTime stamps what its
    leader appends, and DescribeConfigs on every broker lists the
    overrides."""
    c, ctl, observers = start_cluster(zookeeper, tmp_path)
    try:
        topic = unique("zk-written")
        assignment = {"0": [observers[0], ctl], "1": [observers[1], observers[0]]}
        overrides = {"message.timestamp.type": "LogAppendTime", "segment.bytes": "1048576"}
        with paused(c, ctl):
            c.zkc.create(f"{c.chroot}/config/topics/{topic}",
                         json.dumps({"version": 1, "config": overrides}).encode())
            c.zkc.create(f"{c.chroot}/brokers/topics/{topic}",
                         json.dumps({"version": 2, "partitions": assignment,
                                     "adding_replicas": {}, "removing_replicas": {}}).encode())
            time.sleep(PAUSE_S)
            for i in observers:
                _, topics = metadata(c.broker(i).port, [topic])
                assert topics[topic] == (UNKNOWN_TOPIC_OR_PARTITION, {}), \
                    f"broker {i} answered for a topic no controller announced: {topics[topic]}"
                _, everything = metadata(c.broker(i).port)
                assert topic not in everything
                logs = [d for d in os.listdir(c.broker(i).logdir) if d.startswith(topic + "-")]
                assert logs == [], f"broker {i} opened logs no LeaderAndIsr asked for: {logs}"
        # The controller creates the partition states (first replica leads)
        # and tells every broker.
        want = (0, {0: (observers[0], sorted([observers[0], ctl])),
                    1: (observers[1], sorted(observers))})
        for i in range(3):
            wait_for(lambda: metadata(c.broker(i).port, [topic])[1][topic] == want, 30,
                     f"broker {i} to answer for {topic}")
        for i in range(3):
            conn = Conn(c.broker(i).port)
            try:
                err, _, cfg = describe_configs_v3(conn, [(2, topic)], synonyms=False,
                                                  documentation=False)[0]
            finally:
                conn.close()
            assert err == 0
            assert {k: cfg[k]["value"] for k in overrides} == overrides, f"broker {i}"
            assert all(cfg[k]["source"] == 1 for k in overrides), f"broker {i}"
        assert append_time_stamped(c.bootstrap, topic, 0)
        assert append_time_stamped(c.bootstrap, topic, 1)
    finally:
        c.stop()


def append_time_stamped(bootstrap, topic, partition):
    """A record produced with a timestamp of 1970 comes back stamped with
    the leader's clock (LogAppendTime)."""
    from confluent_kafka import Consumer, Producer, TopicPartition, TIMESTAMP_LOG_APPEND_TIME
    before = int(time.time() * 1000)
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    p.produce(topic, b"v", partition=partition, timestamp=1000)
    assert p.flush(30) == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g")})
    consumer.assign([TopicPartition(topic, partition, 0)])
    m = None
    deadline = time.time() + 30
    while m is None and time.time() < deadline:
        m = consumer.poll(1.0)
    consumer.close()
    assert m is not None and not m.error(), m and m.error()
    kind, ts = m.timestamp()
    return kind == TIMESTAMP_LOG_APPEND_TIME and ts >= before - 1000
