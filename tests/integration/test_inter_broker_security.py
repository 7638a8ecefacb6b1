"""Brokers talking to each other over a secured inter-broker listener, as
Kafka deployments configure it: SASL_SSL with SCRAM-SHA-512 credentials
that Kafka 2.8's kafka-configs --zookeeper stored before the brokers
started, and SSL with client certificates.  Replica fetchers, the
controller's LeaderAndIsr/UpdateMetadata and the channel to the controller
all go over it: a replicated topic keeps a full ISR, survives its leader's
death, and every acknowledged record reads back.  Runs on three samsa
brokers, on three Kafka brokers (SAMSA_TEST_TARGET=kafka), and on a
cluster mixing both."""
import os
import sys

import pytest

from conftest import ROOT, TARGET, assert_refuses_to_start, unique
from servers import free_port, wait_for
from test_configs import config_command

sys.path.insert(0, os.path.join(ROOT, "tests"))
from certs import PASSWORD, TestCerts  # noqa: E402
from cluster import Cluster, check_acked  # noqa: E402

KIND = "samsa" if TARGET == "samsa" else "kafka"
BROKER_USER, BROKER_PASSWORD = "broker", "broker-secret"
PROPS = {"replica.lag.time.max.ms": "4000", "zookeeper.session.timeout.ms": "6000",
         "offsets.topic.replication.factor": "3", "default.replication.factor": "3"}


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return TestCerts(str(tmp_path_factory.mktemp("ib-certs")))


def tls_props(certs, listener):
    p = f"listener.name.{listener.lower()}."
    return {p + "ssl.keystore.type": "PKCS12", p + "ssl.keystore.location": certs.server_p12,
            p + "ssl.keystore.password": PASSWORD, p + "ssl.key.password": PASSWORD,
            p + "ssl.truststore.type": "PKCS12", p + "ssl.truststore.location": certs.truststore_p12,
            p + "ssl.truststore.password": PASSWORD}


def sasl_ssl_cluster(zookeeper, tmp_path, certs, kinds, password=lambda i: BROKER_PASSWORD):
    """Brokers with PLAINTEXT for clients and INTERNAL (SASL_SSL, SCRAM-SHA-512)
    between them; the broker user's credential is in ZooKeeper first."""
    def own(i):
        jaas = ("org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="{BROKER_USER}" password="{password(i)}";')
        return {"listeners": f"PLAINTEXT://127.0.0.1:{{port}},INTERNAL://127.0.0.1:{free_port()}",
                "listener.name.internal.scram-sha-512.sasl.jaas.config": jaas}
    props = {**PROPS, **tls_props(certs, "INTERNAL"),
             "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,INTERNAL:SASL_SSL",
             "inter.broker.listener.name": "INTERNAL",
             "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
             "listener.name.internal.sasl.enabled.mechanisms": "SCRAM-SHA-512"}
    c = Cluster(zookeeper, str(tmp_path), kinds, props=props, broker_props=own)
    from kazoo.client import KazooClient
    zk = KazooClient(hosts=zookeeper.connect)
    zk.start(30)
    zk.ensure_path(c.chroot)        # Kafka 2.8's tool does not create a chroot
    zk.stop()
    zk.close()
    config_command("2.8.2", "--zookeeper", zookeeper.connect + c.chroot, "--alter",
                   "--add-config", f"SCRAM-SHA-512=[iterations=4096,password={BROKER_PASSWORD}]",
                   "--entity-type", "users", "--entity-name", BROKER_USER)
    return c


def create_topic(c, topic, partitions=3):
    """RF=3; asked again while the controller has not yet seen every broker
    registered (INVALID_REPLICATION_FACTOR), as in a cluster just started."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": c.bootstrap})

    def created():
        try:
            admin.create_topics([NewTopic(topic, partitions, 3,
                                          config={"min.insync.replicas": "2"})])[topic].result(30)
            return True
        except KafkaException as e:
            if e.args[0].code() != KafkaError.INVALID_REPLICATION_FACTOR:
                raise
            return False
    wait_for(created, 60, f"{topic} created with every broker known to the controller")


def isr(c, topic, p):
    st = c.partition_state(topic, p)
    return sorted(st["isr"]) if st else None


def produce_acked(c, topic, n, first=0, partitions=3):
    """n records with acks=all: {key: (partition, offset, value)}."""
    from confluent_kafka import Producer
    acked, failed = {}, []

    def done(err, m):
        if err:
            failed.append(err)
        else:
            acked[m.key()] = (m.partition(), m.offset(), m.value())
    p = Producer({"bootstrap.servers": c.bootstrap, "acks": "all", "enable.idempotence": True})
    for i in range(first, first + n):
        p.produce(topic, key=b"k%d" % i, value=b"v%d" % i, partition=i % partitions,
                  on_delivery=done)
        p.poll(0)
    assert p.flush(60) == 0
    assert not failed, failed[:3]
    return acked


def replicate_and_fail_over(c, topic):
    create_topic(c, topic)
    wait_for(lambda: all(isr(c, topic, p) == [0, 1, 2] for p in range(3)), 60,
             "every replica in sync over the secured listener")
    acked = produce_acked(c, topic, 300)
    victim = c.leader(topic, 0)
    c.kill9(victim)
    wait_for(lambda: c.leader(topic, 0) not in (victim, None, -1), 30, "a new leader")
    acked.update(produce_acked(c, topic, 300, first=300))
    c.restart(victim)
    wait_for(lambda: all(isr(c, topic, p) == [0, 1, 2] for p in range(3)), 60,
             "the restarted broker back in every ISR")
    assert len(acked) == 600
    assert check_acked(c.bootstrap, topic, 3, acked) == 600


def test_sasl_ssl_scram_between_brokers(zookeeper, tmp_path, certs):
    c = sasl_ssl_cluster(zookeeper, tmp_path, certs, [KIND] * 3).start()
    try:
        replicate_and_fail_over(c, unique("ib-scram"))
    finally:
        c.stop()


def test_mixed_cluster_over_sasl_ssl(zookeeper, tmp_path, certs):
    """A Kafka broker (the first controller) and two samsa brokers: each
    kind fetches from the other's leaders and takes the other's controller
    requests over SASL_SSL."""
    if TARGET != "samsa":
        pytest.skip("a mixed cluster is samsa's test")
    c = sasl_ssl_cluster(zookeeper, tmp_path, certs, ["kafka", "samsa", "samsa"]).start()
    try:
        replicate_and_fail_over(c, unique("ib-mixed"))
    finally:
        c.stop()


def test_ssl_with_client_certificates_between_brokers(zookeeper, tmp_path, certs):
    """SSL with ssl.client.auth=required on the inter-broker listener: each
    broker presents its keystore's certificate (a super user's)."""
    def own(i):
        return {"listeners": f"PLAINTEXT://127.0.0.1:{{port}},INTERNAL://127.0.0.1:{free_port()}"}
    props = {**PROPS, **tls_props(certs, "INTERNAL"),
             "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,INTERNAL:SSL",
             "inter.broker.listener.name": "INTERNAL",
             "listener.name.internal.ssl.client.auth": "required"}
    c = Cluster(zookeeper, str(tmp_path), [KIND] * 3, props=props, broker_props=own).start()
    try:
        replicate_and_fail_over(c, unique("ib-ssl"))
    finally:
        c.stop()


def test_a_broker_with_the_wrong_password_stays_out_of_sync(zookeeper, tmp_path, certs):
    """Broker 2's inter-broker password is wrong: its fetchers are refused
    (it says why, once), it never joins an ISR, and the others carry on."""
    if TARGET != "samsa":
        pytest.skip("the log line is samsa's")
    c = sasl_ssl_cluster(zookeeper, tmp_path, certs, ["samsa"] * 3,
                         password=lambda i: "wrong" if i == 2 else BROKER_PASSWORD).start()
    try:
        topic = unique("ib-wrong")
        create_topic(c, topic)
        log = c.broker(2).logfile
        wait_for(lambda: "Authentication failed" in open(log).read(), 30,
                 "broker 2 to log its refused connection")
        acked = produce_acked(c, topic, 50)
        assert len(acked) == 50
        assert all(2 not in isr(c, topic, p) for p in range(3) if c.leader(topic, p) != 2)
        lines = [line for line in open(log) if "Cannot connect to broker" in line]
        assert 1 <= len(lines) <= 3, lines
    finally:
        c.stop()


@pytest.mark.skipif(TARGET != "samsa", reason="samsa's start-up messages")
def test_unusable_inter_broker_security_stops_start_up(zookeeper, tmp_path, certs):
    base = {"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT",
            "inter.broker.listener.name": "INTERNAL",
            "listener.name.internal.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.internal.plain.sasl.jaas.config":
                'org.apache.kafka.common.security.plain.PlainLoginModule required '
                'user_broker="pw";'}
    cases = [
        ({}, "sasl.mechanism.inter.broker.protocol GSSAPI is not supported by samsa"),
        ({"sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-256"},
         "listener.name.internal.scram-sha-256.sasl.jaas.config is not set"),
        ({"sasl.mechanism.inter.broker.protocol": "PLAIN"},
         "names no username and password for inter-broker connections"),
    ]
    for i, (extra, message) in enumerate(cases):
        props = {"listeners": f"PLAINTEXT://127.0.0.1:{{port}},INTERNAL://127.0.0.1:{free_port()}",
                 **base, **extra}
        assert_refuses_to_start(zookeeper, str(tmp_path / f"b{i}"), props, message)
