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
from kproto import Conn, call

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
    c, ctl, observers = start_cluster(zookeeper, tmp_path)
    try:
        topic = unique("zk-written")
        assignment = {"0": [observers[0], ctl], "1": [observers[1], observers[0]]}
        with paused(c, ctl):
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
        # The controller creates the partition states (first replica leads)
        # and tells every broker.
        want = (0, {0: (observers[0], sorted([observers[0], ctl])),
                    1: (observers[1], sorted(observers))})
        for i in range(3):
            wait_for(lambda: metadata(c.broker(i).port, [topic])[1][topic] == want, 30,
                     f"broker {i} to answer for {topic}")
    finally:
        c.stop()
