"""Admin APIs answered as Kafka answers them, checked with confluent-kafka's
AdminClient against samsa and Kafka: DescribeCluster, and the ACL APIs of a
broker without an authorizer (SECURITY_DISABLED)."""
import pytest
from kafka.protocol.admin import DescribeAclsRequest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType,
                                   AdminClient, ResourcePatternType, ResourceType)

from kproto import Conn, call

CLUSTER_OPERATIONS = {AclOperation.CREATE, AclOperation.ALTER, AclOperation.DESCRIBE,
                      AclOperation.CLUSTER_ACTION, AclOperation.DESCRIBE_CONFIGS,
                      AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE}


@pytest.fixture
def admin(broker):
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def test_describe_cluster(broker, admin):
    md = admin.list_topics(timeout=30)
    desc = admin.describe_cluster(include_authorized_operations=True).result(30)
    assert desc.cluster_id == md.cluster_id and desc.cluster_id
    assert desc.controller.id == md.controller_id == broker.id
    assert [(n.id, n.host, n.port) for n in desc.nodes] == [(broker.id, "127.0.0.1", broker.port)]
    assert set(desc.authorized_operations) == CLUSTER_OPERATIONS
    plain = admin.describe_cluster().result(30)
    assert plain.authorized_operations is None or plain.authorized_operations == []


def security_disabled(exc_info):
    err = exc_info.value.args[0]
    return err.code() == KafkaError.SECURITY_DISABLED


def test_acl_apis_without_an_authorizer(broker, admin):
    binding = AclBinding(ResourceType.TOPIC, "t", ResourcePatternType.LITERAL, "User:alice", "*",
                         AclOperation.READ, AclPermissionType.ALLOW)
    match_all = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                                 AclOperation.ANY, AclPermissionType.ANY)
    # librdkafka hands DescribeAcls' top-level error back as an empty list,
    # so the answer is read raw (kafka-python's encoding, v1: any pattern).
    c = Conn(broker.port)
    r = call(c, DescribeAclsRequest[1](ResourceType.ANY.value, None, ResourcePatternType.ANY.value,
                                       None, None, AclOperation.ANY.value, AclPermissionType.ANY.value))
    c.close()
    assert (r.error_code, r.error_message, r.resources) == (
        KafkaError.SECURITY_DISABLED, "No Authorizer is configured on the broker", [])
    assert admin.describe_acls(match_all).result(30) == []
    with pytest.raises(KafkaException) as exc:
        admin.create_acls([binding])[binding].result(30)
    assert security_disabled(exc) and exc.value.args[0].str() == "No Authorizer is configured."
    with pytest.raises(KafkaException) as exc:
        admin.delete_acls([match_all])[match_all].result(30)
    assert security_disabled(exc) and exc.value.args[0].str() == "No Authorizer is configured."


def test_kafka_tools_grow_a_topic_and_delete_records(broker, tmp_path):
    """Kafka 3.9.1's own kafka-topics --alter --partitions and
    kafka-delete-records (the Java AdminClient) against the broker."""
    import json
    import subprocess
    from confluent_kafka import Producer
    from conftest import kafka_tools, unique
    from test_clients import create_topic
    topic = unique("tools")
    create_topic(broker.bootstrap, topic, 1)
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(10):
        p.produce(topic, b"v%d" % i, partition=0)
    assert p.flush(30) == 0
    topics = kafka_tools("org.apache.kafka.tools.TopicCommand")
    run = lambda cmd: subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    r = run(topics + ["--bootstrap-server", broker.bootstrap, "--alter", "--topic", topic,
                      "--partitions", "3"])
    assert r.returncode == 0, r.stderr
    r = run(topics + ["--bootstrap-server", broker.bootstrap, "--describe", "--topic", topic])
    assert r.returncode == 0 and "PartitionCount: 3" in r.stdout, r.stdout + r.stderr
    spec = tmp_path / "delete.json"
    spec.write_text(json.dumps({"version": 1, "partitions": [{"topic": topic, "partition": 0,
                                                             "offset": 7}]}))
    r = run(kafka_tools("org.apache.kafka.tools.DeleteRecordsCommand") +
            ["--bootstrap-server", broker.bootstrap, "--offset-json-file", str(spec)])
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["Executing records delete operation",
                                     "Records delete operation completed:",
                                     f"partition: {topic}-0\tlow_watermark: 7"]


def test_kafka_log_dirs_tool(broker):
    """Kafka 3.9.1's kafka-log-dirs (DescribeLogDirs): every partition of the
    topics asked for, in the broker's log dir, with its size on disk."""
    import glob
    import json
    import os
    import subprocess
    from confluent_kafka import Producer
    from conftest import kafka_tools, unique
    from test_clients import create_topic
    topic = unique("logdirs")
    create_topic(broker.bootstrap, topic, 2)
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    for i in range(50):
        p.produce(topic, b"x" * 100, partition=i % 2)
    assert p.flush(30) == 0
    r = subprocess.run(kafka_tools("org.apache.kafka.tools.LogDirsCommand") +
                       ["--bootstrap-server", broker.bootstrap, "--describe", "--topic-list", topic],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:2] == ["Querying brokers for log directories information",
                         f"Received log directory information from brokers {broker.id}"]
    answer = json.loads(lines[2])
    assert answer["version"] == 1 and [b["broker"] for b in answer["brokers"]] == [broker.id]
    (logdir,) = answer["brokers"][0]["logDirs"]
    assert logdir["error"] is None
    assert os.path.realpath(logdir["logDir"]) == os.path.realpath(broker.logdir)
    on_disk = {f"{topic}-{p}": sum(os.path.getsize(f) for f in
                                   glob.glob(os.path.join(broker.logdir, f"{topic}-{p}", "*.log")))
               for p in range(2)}
    assert {q["partition"]: q["size"] for q in logdir["partitions"]} == on_disk
    assert all(q["offsetLag"] == 0 and q["isFuture"] is False for q in logdir["partitions"])
    assert all(size > 25 * 100 for size in on_disk.values())


def test_describe_log_dirs_filters_the_partitions_asked_for(broker):
    """DescribeLogDirs v1 naming one partition of a topic among 20000
    topics that do not exist: exactly that partition comes back (on samsa
    the request's list is indexed, so its length costs no scan per log)."""
    from kafka.protocol.api import Request, Response
    from kafka.protocol.types import Array, Boolean, Int16, Int32, Int64, Schema, String
    from conftest import unique
    from kproto import Conn, call
    from test_clients import create_topic

    class DescribeLogDirsResponse_v1(Response):
        API_KEY = 35
        API_VERSION = 1
        SCHEMA = Schema(('throttle_time_ms', Int32), ('log_dirs', Array(
            ('error_code', Int16), ('log_dir', String('utf-8')), ('topics', Array(
                ('name', String('utf-8')), ('partitions', Array(
                    ('partition_index', Int32), ('partition_size', Int64),
                    ('offset_lag', Int64), ('is_future_key', Boolean))))))))

    class DescribeLogDirsRequest_v1(Request):
        API_KEY = 35
        API_VERSION = 1
        RESPONSE_TYPE = DescribeLogDirsResponse_v1
        SCHEMA = Schema(('topics', Array(('topic', String('utf-8')),
                                         ('partitions', Array(Int32)))))

    topic = unique("filter")
    create_topic(broker.bootstrap, topic, 3)
    asked = [(f"absent-{i}", [0, 1]) for i in range(20000)] + [(topic, [1, 7])]
    c = Conn(broker.port)
    r = call(c, DescribeLogDirsRequest_v1(asked))
    c.close()
    (err, _dir, topics), = r.log_dirs
    assert err == 0
    assert [(name, [p[0] for p in parts]) for name, parts in topics] == [(topic, [1])]
