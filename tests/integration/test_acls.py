"""ACLs as Kafka's AclAuthorizer keeps them in ZooKeeper: added, listed and
removed with Kafka 3.9.1's kafka-acls (CreateAcls / DescribeAcls /
DeleteAcls) and Kafka 2.8's kafka-acls --authorizer-properties
zookeeper.connect=... (the znodes and their change notifications), and
honoured for SASL users: produce, consume, group, metadata and admin
requests get Kafka's authorization errors.  Runs against Kafka with
SAMSA_TEST_TARGET=kafka."""
import time

import pytest

from conftest import is_samsa, new_broker, stop_cleanly, unique
from servers import free_port, wait_for
from test_configs import kafka_main

ACL_COMMAND = "kafka.admin.AclCommand"
JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" '
        'password="admin-secret" user_admin="admin-secret" user_alice="alice-secret" '
        'user_bob="bob-secret";')


@pytest.fixture(scope="module")
def acl_broker(zookeeper, tmp_path_factory):
    """An authorizer, PLAINTEXT for brokers and tools (ANONYMOUS is a super
    user there, as a Kafka cluster with a PLAINTEXT inter-broker listener
    needs) and SASL_PLAINTEXT with PLAIN users."""
    sp = free_port()
    props = {
        "listeners": f"PLAINTEXT://127.0.0.1:{{port}},SASL_PLAINTEXT://127.0.0.1:{sp}",
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
        "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
        "super.users": "User:ANONYMOUS;User:admin",
    }
    b = new_broker(zookeeper, str(tmp_path_factory.mktemp("acl")), props=props).start()
    b.sasl_port = sp
    yield b
    stop_cleanly(b)


def acls(b, *args):
    return kafka_main("3.9.1", ACL_COMMAND, "--bootstrap-server", b.bootstrap, *args)


def lines(out):
    """The tool's output as a set of stripped, non-empty lines (it prints
    each resource's entries in a set's order)."""
    return {line.strip() for line in out.splitlines() if line.strip()}


def as_user(b, user, **extra):
    conf = {"bootstrap.servers": f"127.0.0.1:{b.sasl_port}", "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN", "sasl.username": user, "sasl.password": f"{user}-secret",
            "socket.timeout.ms": 10000}
    conf.update(extra)
    return conf


def create_topic(b, topic, partitions=1):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)


def produce_error(conf, topic):
    """None if one record is acknowledged, else the delivery error's name."""
    from confluent_kafka import Producer
    errs = []
    p = Producer(dict(conf, **{"message.timeout.ms": 10000}))
    p.produce(topic, b"v", partition=0, on_delivery=lambda e, m: errs.append(e))
    p.flush(15)
    return errs[0].name() if errs and errs[0] else None


def consume(conf, topic, group):
    """(values read, error name) of a group consumer reading topic from the start."""
    from confluent_kafka import Consumer
    c = Consumer(dict(conf, **{"group.id": group, "auto.offset.reset": "earliest"}))
    c.subscribe([topic])
    got, err = [], None
    deadline = time.time() + 20
    while time.time() < deadline and not got and not err:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            err = m.error().name()
        else:
            got.append(m.value())
    c.close()
    return got, err


def test_kafka_acls_add_list_remove_print_what_kafka_prints(acl_broker):
    topic = unique("acl-t")
    pattern = f"ResourcePattern(resourceType=TOPIC, name={topic}, patternType=LITERAL)"
    out = acls(acl_broker, "--add", "--allow-principal", "User:alice", "--operation", "Write",
               "--operation", "Describe", "--topic", topic)
    assert lines(out) == {
        f"Adding ACLs for resource `{pattern}`:",
        "(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)",
        "(principal=User:alice, host=*, operation=DESCRIBE, permissionType=ALLOW)",
    }
    out = acls(acl_broker, "--list", "--topic", topic)
    assert lines(out) == {
        f"Current ACLs for resource `{pattern}`:",
        "(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)",
        "(principal=User:alice, host=*, operation=DESCRIBE, permissionType=ALLOW)",
    }
    prefix = unique("acl-p")
    out = acls(acl_broker, "--add", "--deny-principal", "User:bob", "--operation", "Read",
               "--topic", prefix, "--resource-pattern-type", "prefixed")
    assert (f"Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, name={prefix}, "
            "patternType=PREFIXED)`:") in out
    # --list with a name and pattern type MATCH finds the prefixed ACL too.
    out = acls(acl_broker, "--list", "--topic", prefix + "-x", "--resource-pattern-type", "match")
    assert "(principal=User:bob, host=*, operation=READ, permissionType=DENY)" in lines(out)
    out = acls(acl_broker, "--remove", "--force", "--allow-principal", "User:alice",
               "--operation", "Write", "--topic", topic)
    assert lines(acls(acl_broker, "--list", "--topic", topic)) == {
        f"Current ACLs for resource `{pattern}`:",
        "(principal=User:alice, host=*, operation=DESCRIBE, permissionType=ALLOW)",
    }
    acls(acl_broker, "--remove", "--force", "--topic", topic)
    assert lines(acls(acl_broker, "--list", "--topic", topic)) == set()


def test_produce_and_consume_need_their_acls(acl_broker):
    topic, other = unique("acl-pc"), unique("acl-other")
    create_topic(acl_broker, topic)
    create_topic(acl_broker, other)
    alice = as_user(acl_broker, "alice")
    assert produce_error(alice, topic) == "TOPIC_AUTHORIZATION_FAILED"
    acls(acl_broker, "--add", "--allow-principal", "User:alice", "--producer", "--topic", topic)
    wait_for(lambda: produce_error(alice, topic) is None, 30, "alice's WRITE to apply")
    assert produce_error(alice, other) == "TOPIC_AUTHORIZATION_FAILED"
    group = unique("g-alice")
    # READ on the topic but not the group.
    acls(acl_broker, "--add", "--allow-principal", "User:alice", "--operation", "Read",
         "--topic", topic)
    got, err = consume(alice, topic, group)
    assert err == "GROUP_AUTHORIZATION_FAILED", (got, err)
    acls(acl_broker, "--add", "--allow-principal", "User:alice", "--operation", "Read",
         "--group", "g-alice", "--resource-pattern-type", "prefixed")
    got, err = consume(alice, topic, group)
    assert (got, err) == ([b"v"], None)
    # The same group reading a topic alice may not read.
    got, err = consume(alice, other, group)
    assert err == "TOPIC_AUTHORIZATION_FAILED", (got, err)


def test_deny_wins_and_metadata_lists_only_what_may_be_described(acl_broker):
    from confluent_kafka.admin import AdminClient
    topic, hidden = unique("acl-deny"), unique("acl-hidden")
    create_topic(acl_broker, topic)
    create_topic(acl_broker, hidden)
    acls(acl_broker, "--add", "--allow-principal", "User:*", "--operation", "Describe",
         "--topic", topic)
    acls(acl_broker, "--add", "--deny-principal", "User:bob", "--operation", "Describe",
         "--topic", topic)

    def visible(user):
        admin = AdminClient(as_user(acl_broker, user))
        md = admin.list_topics(timeout=10)
        return {t for t in md.topics if t in (topic, hidden)}
    wait_for(lambda: visible("alice") == {topic}, 30, "alice to see only the described topic")
    assert visible("bob") == set()
    assert visible("admin") == {topic, hidden}     # a super user sees everything
    # Asking for the hidden topic by name: TOPIC_AUTHORIZATION_FAILED.
    alice = AdminClient(as_user(acl_broker, "alice"))
    md = alice.list_topics(hidden, timeout=10)
    assert md.topics[hidden].error.name() == "TOPIC_AUTHORIZATION_FAILED"


def test_acl_admin_requests_need_the_cluster_acls(acl_broker, tmp_path):
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation,
                                       AclPermissionType, AdminClient, NewTopic,
                                       ResourcePatternType, ResourceType)
    alice = AdminClient(as_user(acl_broker, "alice"))
    binding = AclBinding(ResourceType.TOPIC, unique("x"), ResourcePatternType.LITERAL,
                         "User:alice", "*", AclOperation.READ, AclPermissionType.ALLOW)
    with pytest.raises(KafkaException) as e:
        alice.create_acls([binding])[binding].result(30)
    assert e.value.args[0].name() == "CLUSTER_AUTHORIZATION_FAILED"
    # DescribeAcls as alice, with the Java admin client of kafka-acls.
    cfg = tmp_path / "alice.properties"
    cfg.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
                   "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule "
                   "required username=\"alice\" password=\"alice-secret\";\n")
    r = kafka_main("3.9.1", ACL_COMMAND, "--bootstrap-server", f"127.0.0.1:{acl_broker.sasl_port}",
                   "--command-config", str(cfg), "--list", check=False)
    # Kafka's message names its internal request object; both end the same way.
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "ClusterAuthorizationException: Request " in out and \
        "is not authorized." in out, out
    name = unique("acl-create")
    with pytest.raises(KafkaException) as e:
        alice.create_topics([NewTopic(name, 1, 1)])[name].result(30)
    assert e.value.args[0].name() == "TOPIC_AUTHORIZATION_FAILED"
    # The super user may; a CLUSTER ACL must name kafka-cluster.
    admin = AdminClient(as_user(acl_broker, "admin"))
    admin.create_acls([binding])[binding].result(30)
    bad = AclBinding(ResourceType.BROKER, "other", ResourcePatternType.LITERAL, "User:alice",
                     "*", AclOperation.ALTER, AclPermissionType.ALLOW)
    with pytest.raises(KafkaException) as e:
        admin.create_acls([bad])[bad].result(30)
    assert (e.value.args[0].name(), e.value.args[0].str()) == (
        "INVALID_REQUEST", "The only valid name for the CLUSTER resource is kafka-cluster")
    found = admin.describe_acls(AclBindingFilter(
        ResourceType.TOPIC, binding.name, ResourcePatternType.LITERAL, None, None,
        AclOperation.ANY, AclPermissionType.ANY)).result(30)
    assert found == [binding]
    deleted = admin.delete_acls([AclBindingFilter(
        ResourceType.TOPIC, binding.name, ResourcePatternType.ANY, None, None, AclOperation.ANY,
        AclPermissionType.ANY)])
    assert list(deleted.values())[0].result(30) == [binding]


def test_kafka_2_8_zookeeper_acls_reach_the_running_broker(acl_broker, zookeeper):
    topic = unique("acl-zk")
    create_topic(acl_broker, topic)
    alice = as_user(acl_broker, "alice")
    assert produce_error(alice, topic) == "TOPIC_AUTHORIZATION_FAILED"
    zk = zookeeper.connect + acl_broker.chroot
    out = kafka_main("2.8.2", ACL_COMMAND, "--authorizer-properties", f"zookeeper.connect={zk}",
                     "--add", "--allow-principal", "User:alice", "--operation", "Write",
                     "--topic", topic)
    assert "(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)" in out
    wait_for(lambda: produce_error(alice, topic) is None, 30, "the ZooKeeper ACL to apply")
    # And the 3.9 tool lists what 2.8 wrote.
    assert "(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)" in lines(
        acls(acl_broker, "--list", "--topic", topic))
    if is_samsa(acl_broker):
        assert (f"Principal = User:alice is Denied operation = Describe from host = 127.0.0.1 on "
                f"resource = Topic:LITERAL:{topic} for request = Metadata") in acl_broker.log_text()


def test_configs_groups_transactions_and_credentials_need_their_acls(acl_broker, tmp_path):
    from confluent_kafka import KafkaException, Producer
    from confluent_kafka.admin import AdminClient, ConfigResource
    topic, txn = unique("acl-cfg"), unique("acl-txn")
    create_topic(acl_broker, topic)
    alice = AdminClient(as_user(acl_broker, "alice"))
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    with pytest.raises(KafkaException) as e:
        alice.describe_configs([res])[res].result(30)
    assert e.value.args[0].name() == "TOPIC_AUTHORIZATION_FAILED"
    broker_res = ConfigResource(ConfigResource.Type.BROKER, "0")
    with pytest.raises(KafkaException) as e:
        alice.describe_configs([broker_res])[broker_res].result(30)
    assert e.value.args[0].name() == "CLUSTER_AUTHORIZATION_FAILED"
    acls(acl_broker, "--add", "--allow-principal", "User:alice", "--operation", "DescribeConfigs",
         "--topic", topic)
    wait_for(lambda: alice.describe_configs([res])[res].result(30)["cleanup.policy"].value ==
             "delete", 30, "alice's DESCRIBE_CONFIGS to apply")
    # Deleting a group needs DELETE on it.
    group = unique("acl-dg")
    with pytest.raises(KafkaException) as e:
        alice.delete_consumer_groups([group])[group].result(30)
    assert e.value.args[0].name() == "GROUP_AUTHORIZATION_FAILED"
    # A transactional producer needs WRITE on its transactional id.
    p = Producer(as_user(acl_broker, "alice", **{"transactional.id": txn}))
    with pytest.raises(KafkaException) as e:
        p.init_transactions(20)
    assert e.value.args[0].name() == "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"
    # SCRAM credentials are the cluster's: ALTER on it (asked with Kafka's
    # kafka-configs: librdkafka 2.6 aborts on this refusal, against Kafka too).
    cfg = tmp_path / "alice.properties"
    cfg.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
                   "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule "
                   "required username=\"alice\" password=\"alice-secret\";\n")
    r = kafka_main("3.9.1", "kafka.admin.ConfigCommand", "--bootstrap-server",
                   f"127.0.0.1:{acl_broker.sasl_port}", "--command-config", str(cfg), "--alter",
                   "--add-config", "SCRAM-SHA-256=[password=x]", "--entity-type", "users",
                   "--entity-name", "carol", check=False)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "ClusterAuthorizationException" in out, out


def samsa_acls(b, *args):
    import subprocess
    from conftest import tool
    r = subprocess.run([tool("samsa-acls"), "--bootstrap-server", b.bootstrap, *args],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_samsa_acls_prints_what_kafka_acls_prints(acl_broker):
    """The same commands through Kafka 3.9.1's kafka-acls and samsa-acls
    against one broker print the same lines (entries compared as sets: both
    tools print them in an unspecified order)."""
    for t, run in (("k", acls), ("s", samsa_acls)):
        topic, group, txn = unique(f"acl-cmp-{t}"), unique(f"g-cmp-{t}"), unique(f"tx-{t}")
        out = run(acl_broker, "--add", "--allow-principal", "User:alice", "--allow-principal",
                  "User:bob", "--operation", "Read", "--operation", "Write", "--topic", topic)
        first = out.splitlines()[0]
        assert first == ("Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, "
                         f"name={topic}, patternType=LITERAL)`: "), out
        assert lines(out) - {first.strip()} == {
            f"(principal=User:{u}, host=*, operation={op}, permissionType=ALLOW)"
            for u in ("alice", "bob") for op in ("READ", "WRITE")}
        assert out.endswith(" \n\n"), repr(out)
        out = run(acl_broker, "--add", "--allow-principal", "User:eve", "--allow-host", "10.0.0.9",
                  "--consumer", "--topic", topic, "--group", group)
        assert lines(out) == {
            f"Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, name={topic}, "
            "patternType=LITERAL)`:",
            "(principal=User:eve, host=10.0.0.9, operation=READ, permissionType=ALLOW)",
            "(principal=User:eve, host=10.0.0.9, operation=DESCRIBE, permissionType=ALLOW)",
            f"Adding ACLs for resource `ResourcePattern(resourceType=GROUP, name={group}, "
            "patternType=LITERAL)`:",
            "(principal=User:eve, host=10.0.0.9, operation=READ, permissionType=ALLOW)"}
        out = run(acl_broker, "--add", "--deny-principal", "User:mallory", "--operation",
                  "Describe", "--topic", topic)
        assert "(principal=User:mallory, host=*, operation=DESCRIBE, permissionType=DENY)" in \
            lines(out)
        run(acl_broker, "--add", "--allow-principal", "User:carol", "--producer",
            "--transactional-id", txn, "--topic", topic)
        listed = {t2: lines(run(acl_broker, "--list", "--topic", topic)) for t2 in ("x",)}["x"]
        assert len([x for x in listed if x.startswith("(principal=")]) == 10, listed
        run(acl_broker, "--remove", "--force", "--allow-principal", "User:bob", "--operation",
            "Write", "--topic", topic)
        assert "(principal=User:bob, host=*, operation=WRITE, permissionType=ALLOW)" not in lines(
            run(acl_broker, "--list", "--topic", topic))
        assert lines(run(acl_broker, "--list", "--transactional-id", txn)) == {
            f"Current ACLs for resource `ResourcePattern(resourceType=TRANSACTIONAL_ID, name={txn}, "
            "patternType=LITERAL)`:",
            "(principal=User:carol, host=*, operation=WRITE, permissionType=ALLOW)",
            "(principal=User:carol, host=*, operation=DESCRIBE, permissionType=ALLOW)"}
        run(acl_broker, "--remove", "--force", "--topic", topic)
        assert lines(run(acl_broker, "--list", "--topic", topic)) == set()


def plain_conn(b, user):
    """A raw connection authenticated as user (SASL/PLAIN, Kafka's v0 forms)."""
    import struct
    from kproto import Conn, kstr
    c = Conn(b.sasl_port)
    assert struct.unpack_from(">h", c.request(17, 1, kstr("PLAIN")), 0)[0] == 0
    token = b"\0" + user.encode() + b"\0" + f"{user}-secret".encode()
    assert struct.unpack_from(">h", c.request(36, 0, struct.pack(">i", len(token)) + token), 0)[0] == 0
    return c


def init_idempotent_pid_error(b, user):
    """InitProducerId v0 without a transactional id: its error code."""
    import struct
    c = plain_conn(b, user)
    try:
        body = c.request(22, 0, struct.pack(">hi", -1, 60000))
        return struct.unpack_from(">ih", body, 0)[1]
    finally:
        c.close()


def test_idempotent_producers_transactions_and_offset_deletion_check_their_topics(acl_broker):
    """InitProducerId without a transactional id needs IDEMPOTENT_WRITE on the
    cluster or (KIP-679) WRITE on some topic; AddPartitionsToTxn needs WRITE
    on each topic; OffsetDelete READ on each topic (Kafka's codes: 31, 29)."""
    import struct
    from confluent_kafka import KafkaException, Producer
    assert init_idempotent_pid_error(acl_broker, "bob") == 31     # CLUSTER_AUTHORIZATION_FAILED
    acls(acl_broker, "--add", "--allow-principal", "User:bob", "--operation", "Write", "--topic",
         "bob-", "--resource-pattern-type", "prefixed")
    wait_for(lambda: init_idempotent_pid_error(acl_broker, "bob") == 0, 30,
             "WRITE on some topic to let bob be idempotent")
    # A transaction over a topic alice may not write.
    topic, txn = unique("acl-apt"), unique("bob-txn")
    create_topic(acl_broker, topic)
    acls(acl_broker, "--add", "--allow-principal", "User:bob", "--operation", "Write",
         "--operation", "Describe", "--transactional-id", txn)
    time.sleep(1)
    p = Producer(as_user(acl_broker, "bob", **{"transactional.id": txn}))
    p.init_transactions(30)
    p.begin_transaction()
    delivery = []
    p.produce(topic, b"v", partition=0, on_delivery=lambda err, m: delivery.append(err))
    with pytest.raises(KafkaException):
        p.commit_transaction(30)
    assert [e.name() for e in delivery] == ["TOPIC_AUTHORIZATION_FAILED"], delivery
    p.abort_transaction(30)
    # Offsets of a group: committed by admin, deleted by bob, who may delete
    # the group's offsets but not read the topic.
    from confluent_kafka import Consumer, TopicPartition
    group = unique("bob-g")
    c = Consumer({"bootstrap.servers": acl_broker.bootstrap, "group.id": group})
    c.commit(offsets=[TopicPartition(topic, 0, 0)], asynchronous=False)
    c.close()
    acls(acl_broker, "--add", "--allow-principal", "User:bob", "--operation", "Delete",
         "--group", group)
    time.sleep(1)
    conn = plain_conn(acl_broker, "bob")
    from kproto import kstr
    body = kstr(group) + struct.pack(">i", 1) + kstr(topic) + struct.pack(">ii", 1, 0)
    resp = conn.request(47, 0, body)
    conn.close()
    err, _throttle, nt = struct.unpack_from(">hii", resp, 0)
    (tl,) = struct.unpack_from(">h", resp, 10)
    name = resp[12:12 + tl].decode()
    np_, part, perr = struct.unpack_from(">iih", resp, 12 + tl)
    assert (err, nt, name, np_, part, perr) == (0, 1, topic, 1, 0, 29)
