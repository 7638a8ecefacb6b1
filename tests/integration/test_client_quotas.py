"""Client quotas as Kafka stores them in ZooKeeper (/config/users,
/config/users/<u>/clients, /config/clients, /config/ips): set, changed and
described with Kafka 3.9.1's kafka-configs (AlterClientQuotas /
DescribeClientQuotas) and confluent-kafka's admin client, and written by
Kafka 2.8's kafka-configs --zookeeper.  Every answer is compared exactly;
the suite runs against Kafka with SAMSA_TEST_TARGET=kafka."""
from conftest import unique
from test_configs import config_command


def configs(b, *args):
    return config_command("3.9.1", "--bootstrap-server", b.bootstrap, *args)


def quota_lines(out):
    return sorted(line for line in out.splitlines() if line.startswith("Quota configs"))


def test_kafka_configs_sets_and_describes_quotas(broker):
    user, client = unique("qu"), unique("qc")
    for entity, spec in [(["--entity-type", "users", "--entity-name", user],
                          "producer_byte_rate=1024,consumer_byte_rate=2048"),
                         (["--entity-type", "users", "--entity-name", user, "--entity-type",
                           "clients", "--entity-name", client], "request_percentage=12.5"),
                         (["--entity-type", "clients", "--entity-name", client],
                          "controller_mutation_rate=10")]:
        out = configs(broker, "--alter", "--add-config", spec, *entity)
        assert out.startswith("Completed updating config for "), out
    out = configs(broker, "--describe", "--entity-type", "users", "--entity-name", user)
    # (the tool prints the values in its HashMap's order)
    assert quota_lines(out) == [
        f"Quota configs for user-principal '{user}' are consumer_byte_rate=2048.0, "
        "producer_byte_rate=1024.0"]
    out = configs(broker, "--describe", "--entity-type", "users", "--entity-name", user,
                  "--entity-type", "clients", "--entity-name", client)
    assert quota_lines(out) == [
        f"Quota configs for user-principal '{user}', client-id '{client}' are "
        "request_percentage=12.5"]
    out = configs(broker, "--describe", "--entity-type", "clients", "--entity-name", client)
    assert quota_lines(out) == [
        f"Quota configs for client-id '{client}' are controller_mutation_rate=10.0"]
    # Removing one key keeps the other; removing the last drops the entity.
    configs(broker, "--alter", "--delete-config", "producer_byte_rate", "--entity-type", "users",
            "--entity-name", user)
    out = configs(broker, "--describe", "--entity-type", "users", "--entity-name", user)
    assert quota_lines(out) == [
        f"Quota configs for user-principal '{user}' are consumer_byte_rate=2048.0"]
    configs(broker, "--alter", "--delete-config", "controller_mutation_rate", "--entity-type",
            "clients", "--entity-name", client)
    out = configs(broker, "--describe", "--entity-type", "clients", "--entity-name", client)
    assert quota_lines(out) == []


def test_kafka_2_8_zookeeper_quotas_are_described(broker, zookeeper):
    user = unique("zq")
    zk = zookeeper.connect + broker.chroot
    out = config_command("2.8.2", "--zookeeper", zk, "--alter", "--add-config",
                         "producer_byte_rate=4096", "--entity-type", "users", "--entity-name", user)
    assert f"Completed updating config for entity: user-principal '{user}'." in out
    out = config_command("2.8.2", "--zookeeper", zk, "--alter", "--add-config",
                         "consumer_byte_rate=512", "--entity-type", "users", "--entity-default")
    out = configs(broker, "--describe", "--entity-type", "users", "--entity-name", user)
    assert quota_lines(out) == [f"Quota configs for user-principal '{user}' are producer_byte_rate=4096.0"]
    out = configs(broker, "--describe", "--entity-type", "users", "--entity-default")
    assert quota_lines(out) == ["Quota configs for the default user-principal are consumer_byte_rate=512.0"]
    configs(broker, "--alter", "--delete-config", "consumer_byte_rate", "--entity-type", "users",
            "--entity-default")
    out = configs(broker, "--describe", "--entity-type", "users", "--entity-default")
    assert quota_lines(out) == []


def test_bad_quota_alterations_get_kafkas_errors(broker):
    user = unique("bad")
    for spec, message in [("producer_byte_rate=1.5",
                           "Configuration producer_byte_rate must be a LONG value"),
                          ]:
        r = config_command("3.9.1", "--bootstrap-server", broker.bootstrap, "--alter",
                           "--add-config", spec, "--entity-type", "users", "--entity-name", user,
                           check=False)
        assert r.returncode != 0 and message in r.stdout + r.stderr, r.stdout + r.stderr


def test_ip_quotas(broker):
    ip = "127.0.0.%d" % (hash(unique("ip")) % 200 + 2)
    entity = ["--entity-type", "ips", "--entity-name", ip]
    configs(broker, "--alter", "--add-config", "connection_creation_rate=3", *entity)
    assert quota_lines(configs(broker, "--describe", *entity)) == [
        f"Quota configs for ip '{ip}' are connection_creation_rate=3.0"]
    configs(broker, "--alter", "--delete-config", "connection_creation_rate", *entity)
    assert quota_lines(configs(broker, "--describe", *entity)) == []


def throttles_seen(b, topic, client_id, records, size):
    """The throttle times the producer's broker reported (librdkafka's
    throttle_cb) while sending records of size bytes at once."""
    from confluent_kafka import Producer
    seen = []
    p = Producer({"bootstrap.servers": b.bootstrap, "client.id": client_id, "linger.ms": 50,
                  "throttle_cb": lambda ev: seen.append(ev.throttle_time)})
    for i in range(records):
        p.produce(topic, b"x" * size, partition=0)
    assert p.flush(60) == 0
    p.poll(0.5)
    return seen


def test_producer_byte_rate_throttles_the_client_that_exceeds_it(broker):
    """A client-id with producer_byte_rate=20480 sending ~300 KB at once
    (about 30 KB/s over the 10 s quota window) is told to back off;
    another client-id is not."""
    from confluent_kafka.admin import AdminClient, NewTopic
    topic, slow = unique("quota-t"), unique("slow")
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    configs(broker, "--alter", "--add-config", "producer_byte_rate=20480", "--entity-type",
            "clients", "--entity-name", slow)
    import time
    deadline = time.time() + 30
    seen = []
    while time.time() < deadline and not any(t > 0 for t in seen):
        seen = throttles_seen(broker, topic, slow, 30, 10000)
    assert any(t > 0 for t in seen), seen
    assert not any(t > 0 for t in throttles_seen(broker, topic, unique("fast"), 30, 10000))


def test_user_client_quotas_are_loaded_at_start_up(make_broker, zookeeper):
    """A users/<u>/clients/<c> quota that Kafka 2.8's kafka-configs
    --zookeeper wrote while the broker was down (its parent znode created
    without data) applies after start-up."""
    from confluent_kafka.admin import AdminClient, NewTopic
    b = make_broker().start()
    topic, slow = unique("quota-up"), unique("slow-up")
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    b.stop()
    config_command("2.8.2", "--zookeeper", zookeeper.connect + b.chroot, "--alter",
                   "--add-config", "producer_byte_rate=20480", "--entity-type", "users",
                   "--entity-default", "--entity-type", "clients", "--entity-name", slow)
    b.start()
    import time
    deadline = time.time() + 30
    seen = []
    while time.time() < deadline and not any(t > 0 for t in seen):
        seen = throttles_seen(b, topic, slow, 30, 10000)
    assert any(t > 0 for t in seen), seen
