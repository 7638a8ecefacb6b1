"""Dynamic configuration as Kafka keeps it: DescribeConfigs listing every
key with value, source, synonyms, type and documentation;
AlterConfigs/IncrementalAlterConfigs with Kafka's checks and messages;
/config/changes notifications (written by this broker, by Kafka 3.9.1's
kafka-configs and by Kafka 2.8's `kafka-configs --zookeeper`) applied at
runtime."""
import os
import subprocess
import time

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, ConfigEntry, ConfigResource, NewTopic

from conftest import TARGET, free_port, is_samsa, new_broker, unique, wait_for
from kproto import Conn, describe_configs_v3, incremental_alter_configs_v0
from servers import KafkaBroker, ensure_kafka

TOPIC, BROKER = 2, 4
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
# Keys whose values are paths or ports of one particular broker.
PER_PROCESS = {"log.dirs", "log.dir", "listeners", "zookeeper.connect"}


def describe(port, rtype, name):
    c = Conn(port)
    try:
        return describe_configs_v3(c, [(rtype, name)])[0]
    finally:
        c.close()


def alter(port, rtype, name, ops, validate_only=False):
    c = Conn(port)
    try:
        return incremental_alter_configs_v0(c, [(rtype, name, ops)], validate_only)[0]
    finally:
        c.close()


def create(bootstrap, topic, config=None):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1, config=config or {})])[topic].result(30)


# (resource type, name, operations) applied in order; every answer and the
# configs after them are compared with Kafka's.
SCENARIO = [
    (TOPIC, "t1", [("cleanup.policy", APPEND, "compact"), ("segment.bytes", SET, "1048576")]),
    (TOPIC, "t1", [("retention.ms", SET, "abc")]),
    (TOPIC, "t1", [("foo.bar", SET, "1")]),
    (TOPIC, "nope", [("retention.ms", SET, "1")]),
    (TOPIC, "t1", [("segment.bytes", APPEND, "1")]),
    (TOPIC, "t1", [("retention.ms", SET, "1"), ("retention.ms", SET, "2")]),
    (TOPIC, "t1", [("min.insync.replicas", SET, None)]),
    (TOPIC, "", [("retention.ms", SET, "1")]),
    (BROKER, "0", [("log.dirs", SET, "/x")]),
    (BROKER, "", [("advertised.listeners", SET, "PLAINTEXT://x:1")]),
    (BROKER, "", [("log.retention.ms", SET, "abc")]),
    (BROKER, "7", [("log.retention.ms", SET, "5")]),
    (BROKER, "x", [("log.retention.ms", SET, "5")]),
    (BROKER, "", [("log.retention.ms", SET, "3600000")]),
    (BROKER, "0", [("log.segment.bytes", SET, "2097152"), ("my.custom.key", SET, "v")]),
    (BROKER, "0", [("ssl.keystore.password", SET, "x")]),
    (BROKER, "0", [("listener.name.plaintext.ssl.keystore.password", SET, "x")]),
    (TOPIC, "t1", [("cleanup.policy", SUBTRACT, "delete"), ("segment.bytes", DELETE, None)]),
]


def run_scenario(b):
    create(b.bootstrap, "t1", {"retention.ms": "12345"})
    wait_for(lambda: describe(b.port, TOPIC, "t1")[0] == 0, 30, "t1 in the metadata")
    seen = {"before": [describe(b.port, t, n) for t, n in [(TOPIC, "t1"), (BROKER, "0"),
                                                          (BROKER, "")]]}
    seen["validate_only"] = alter(b.port, TOPIC, "t1", [("retention.ms", SET, "99")], True)
    seen["after_validate_only"] = describe(b.port, TOPIC, "t1")
    seen["answers"] = [alter(b.port, t, n, ops) for t, n, ops in SCENARIO]
    seen["after"] = [describe(b.port, t, n) for t, n in [(TOPIC, "t1"), (BROKER, "0"),
                                                        (BROKER, ""), (TOPIC, "nope"),
                                                        (BROKER, "7"), (BROKER, "x")]]
    return seen


def comparable(seen):
    """Drops the values that name one process's paths and ports."""
    out = {}
    for k, v in seen.items():
        if k == "answers" or k == "validate_only":
            out[k] = v
            continue
        results = v if isinstance(v, list) else [v]
        out[k] = [(e, m, {name: entry for name, entry in cfg.items() if name not in PER_PROCESS})
                  for e, m, cfg in results]
    return out


@pytest.mark.skipif(TARGET != "samsa", reason="compares samsa with Kafka in one run")
def test_configs_answer_as_kafka_does(zookeeper, tmp_path):
    """The same operations on samsa and on Kafka 3.9.1, every answer and
    every DescribeConfigs entry (314 broker keys, 36 topic keys: value,
    source, synonyms, read-only, sensitivity, type, documentation)
    compared exactly."""
    results = {}
    for kind in ("samsa", "kafka"):
        workdir = str(tmp_path / kind)
        os.makedirs(workdir)
        b = (new_broker(zookeeper, workdir) if kind == "samsa" else
             KafkaBroker(zookeeper.connect, workdir)).start()
        try:
            results[kind] = comparable(run_scenario(b))
        finally:
            b.stop()
            if is_samsa(b):
                b.assert_no_sanitizer_reports()
    samsa, kafka = results["samsa"], results["kafka"]
    assert len(kafka["before"][1][2]) >= 300       # Kafka lists every broker key
    for stage in samsa:
        if isinstance(samsa[stage], list) and stage != "answers":
            for (se, sm, sc), (ke, km, kc) in zip(samsa[stage], kafka[stage]):
                assert (se, sm) == (ke, km), stage
                assert sorted(sc) == sorted(kc), stage
                for name in kc:
                    assert sc[name] == kc[name], (stage, name)
        else:
            assert samsa[stage] == kafka[stage], stage


def test_dynamic_configs_take_effect(broker):
    """A cluster-wide log.retention.ms set at runtime becomes the retention
    of topics without their own; a topic override wins over it; deleting it
    restores the static value."""
    topic, own = unique("dyn"), unique("dyn-own")
    create(broker.bootstrap, topic)
    create(broker.bootstrap, own, {"retention.ms": "4000"})
    try:
        assert alter(broker.port, BROKER, "", [("log.retention.ms", SET, "7200000")]) == (0, None)

        def retention(t):
            err, _, cfg = describe(broker.port, TOPIC, t)
            assert err == 0
            e = cfg["retention.ms"]
            return e["value"], e["source"], e["synonyms"][:1]
        wait_for(lambda: retention(topic)[0] == "7200000", 10, "the new default in force")
        assert retention(topic) == ("7200000", 3, [("log.retention.ms", "7200000", 3)])
        assert retention(own) == ("4000", 1, [("retention.ms", "4000", 1)])
    finally:
        assert alter(broker.port, BROKER, "", [("log.retention.ms", DELETE, None)]) == (0, None)
    wait_for(lambda: describe(broker.port, TOPIC, topic)[2]["retention.ms"]["value"] ==
             "604800000", 10, "the static value again")


def produce(bootstrap, topic, n):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for i in range(n):
        p.produce(topic, b"v%d" % i, partition=0)
    assert p.flush(30) == 0


def earliest(bootstrap, topic):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g")})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), 30)[0]
    finally:
        c.close()


def kafka_main(version, main_class, *args, check=True):
    """Runs one of Kafka <version>'s command-line classes (kafka-configs is
    kafka.admin.ConfigCommand, kafka-acls kafka.admin.AclCommand); its
    stdout, or the CompletedProcess with check=False."""
    lib = ensure_kafka(version)
    log4j = os.path.join(lib, "..", f"configs-log4j-{version}.properties")
    with open(log4j, "w") as f:
        f.write("log4j.rootLogger=WARN, stderr\n"
                "log4j.appender.stderr=org.apache.log4j.ConsoleAppender\n"
                "log4j.appender.stderr.Target=System.err\n"
                "log4j.appender.stderr.layout=org.apache.log4j.PatternLayout\n"
                "log4j.appender.stderr.layout.ConversionPattern=%p %m%n\n")
    r = subprocess.run(["java", "-Xmx256m", f"-Dlog4j.configuration=file:{log4j}", "-cp",
                        os.path.join(lib, "*"), main_class, *args],
                       capture_output=True, text=True, timeout=120)
    if not check:
        return r
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def config_command(version, *args, check=True):
    return kafka_main(version, "kafka.admin.ConfigCommand", *args, check=check)


def test_kafka_configs_tool(broker):
    """Kafka 3.9.1's kafka-configs: --alter --add-config/--delete-config on
    a topic and --describe, with Kafka's output."""
    topic = unique("cfgtool")
    create(broker.bootstrap, topic)
    base = ["--bootstrap-server", broker.bootstrap, "--entity-type", "topics", "--entity-name",
            topic]
    out = config_command("3.9.1", *base, "--alter", "--add-config",
                         "retention.ms=86400000,cleanup.policy=[compact,delete]")
    assert out.strip() == f"Completed updating config for topic {topic}."
    out = config_command("3.9.1", *base, "--describe")
    assert out.splitlines() == [
        f"Dynamic configs for topic {topic} are:",
        "  cleanup.policy=compact,delete sensitive=false "
        "synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete, "
        "DEFAULT_CONFIG:log.cleanup.policy=delete}",
        "  retention.ms=86400000 sensitive=false "
        "synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=86400000}"] or out.splitlines() == [
        f"Dynamic configs for topic {topic} are:",
        "  retention.ms=86400000 sensitive=false "
        "synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=86400000}",
        "  cleanup.policy=compact,delete sensitive=false "
        "synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete, "
        "DEFAULT_CONFIG:log.cleanup.policy=delete}"], out
    config_command("3.9.1", *base, "--alter", "--delete-config", "cleanup.policy")
    out = config_command("3.9.1", *base, "--describe")
    assert out.splitlines() == [
        f"Dynamic configs for topic {topic} are:",
        "  retention.ms=86400000 sensitive=false "
        "synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=86400000}"], out
    out = config_command("3.9.1", "--bootstrap-server", broker.bootstrap, "--entity-type",
                         "brokers", "--entity-name", str(broker.id), "--describe", "--all")
    lines = out.splitlines()
    assert lines[0] == f"All configs for broker {broker.id} are:"
    assert "  num.partitions=3 sensitive=false synonyms={STATIC_BROKER_CONFIG:num.partitions=3, " \
           "DEFAULT_CONFIG:num.partitions=1}" in lines
    assert len(lines) > 300


def test_zookeeper_mode_tool_changes_are_applied(make_broker, zookeeper):
    """Kafka 2.8's `kafka-configs --zookeeper` writes /config/topics/<t> and
    a /config/changes notification; the broker applies it at runtime: with
    retention.ms=1 the next retention check deletes the topic's records."""
    b = make_broker(props={"log.retention.check.interval.ms": "300"}).start()
    topic = unique("zkcfg")
    create(b.bootstrap, topic)
    produce(b.bootstrap, topic, 20)
    time.sleep(0.5)
    assert earliest(b.bootstrap, topic) == 0
    out = config_command("2.8.2", "--zookeeper", zookeeper.connect + b.chroot, "--entity-type",
                         "topics", "--entity-name", topic, "--alter", "--add-config",
                         "retention.ms=1")
    assert f"Completed updating config for entity: topic '{topic}'." in out
    start = time.time()
    wait_for(lambda: describe(b.port, TOPIC, topic)[2]["retention.ms"]["value"] == "1", 10,
             "the change notification applied")
    noticed = time.time() - start
    wait_for(lambda: earliest(b.bootstrap, topic) == 20, 30, "retention to delete the records")
    print(f"change noticed after {noticed:.2f}s")


def samsa_configs(*args, ok=True):
    from conftest import tool
    r = subprocess.run([tool("samsa-configs"), *args], capture_output=True, text=True,
                       timeout=60)
    assert (r.returncode == 0) == ok, r.stdout + r.stderr
    return r.stdout if ok else r.stderr


def test_samsa_configs_prints_what_kafka_configs_prints(broker):
    """samsa-configs and Kafka 3.9.1's kafka-configs, against the same
    broker: each makes changes, and every --describe prints the same."""
    topic = unique("cfgcmp")
    create(broker.bootstrap, topic)
    bs = ["--bootstrap-server", broker.bootstrap]
    entity = ["--entity-type", "topics", "--entity-name", topic]
    out = samsa_configs(*bs, *entity, "--alter", "--add-config",
                        "retention.ms=1000,cleanup.policy=[compact,delete]")
    assert out == f"Completed updating config for topic {topic}.\n"
    describes = [entity + ["--describe"], entity + ["--describe", "--all"],
                 ["--entity-type", "brokers", "--entity-name", str(broker.id), "--describe",
                  "--all"],
                 ["--entity-type", "brokers", "--entity-default", "--describe"]]

    def same_everywhere():
        for d in describes:
            assert samsa_configs(*bs, *d) == config_command("3.9.1", *bs, *d), d
    same_everywhere()
    config_command("3.9.1", *bs, *entity, "--alter", "--delete-config", "cleanup.policy")
    out = samsa_configs(*bs, "--entity-type", "brokers", "--entity-default", "--alter",
                        "--add-config", "log.cleaner.threads=2")
    assert out == "Completed updating default config for brokers in the cluster.\n"
    try:
        same_everywhere()
        err = samsa_configs(*bs, *entity, "--alter", "--delete-config", "cleanup.policy",
                            ok=False)
        assert err == "Invalid config(s): cleanup.policy\n"
        err = samsa_configs(*bs, *entity, "--alter", "--add-config", "retention.ms=x", ok=False)
        assert err.splitlines()[1] == (f"Invalid config value for resource ConfigResource("
                                       f"type=TOPIC, name='{topic}'): Invalid value x for "
                                       "configuration retention.ms: Not a number of type LONG")
    finally:
        samsa_configs(*bs, "--broker-defaults", "--alter", "--delete-config",
                      "log.cleaner.threads")


def test_samsa_configs_zookeeper_mode_matches_kafka_2_8(make_broker, zookeeper):
    """samsa-configs --zookeeper writes what Kafka 2.8's kafka-configs
    --zookeeper writes, prints what it prints, and the running broker
    applies the change; broker configs other than replication quotas are
    refused while the broker runs, as Kafka's tool refuses them."""
    b = make_broker().start()
    zk = zookeeper.connect + b.chroot
    outputs = {}
    for kind in ("samsa", "kafka"):
        topic = unique("zkmode")
        create(b.bootstrap, topic)
        base = ["--zookeeper", zk, "--entity-type", "topics", "--entity-name", topic]

        def cmd(*args):
            if kind == "kafka":
                return config_command("2.8.2", *base, *args)
            return samsa_configs(*base, *args)
        out = [cmd("--alter", "--add-config", "retention.ms=3600000,segment.bytes=2097152"),
               cmd("--alter", "--delete-config", "segment.bytes"), cmd("--describe")]
        outputs[kind] = [o.replace(topic, "TOPIC") for o in out]
        wait_for(lambda: describe(b.port, TOPIC, topic)[2]["retention.ms"]["value"] == "3600000",
                 10, "the change applied by the broker")
        assert describe(b.port, TOPIC, topic)[2]["segment.bytes"]["source"] == 5
    assert outputs["samsa"] == outputs["kafka"]
    assert outputs["samsa"][2].splitlines()[-1] == "Configs for topic 'TOPIC' are retention.ms=3600000"
    err = samsa_configs("--zookeeper", zk, "--entity-type", "brokers", "--entity-name", str(b.id),
                        "--alter", "--add-config", "log.retention.ms=5", ok=False)
    assert err.startswith("requirement failed: --bootstrap-server option must be specified to "
                          f"update broker configs Set(log.retention.ms) when broker {b.id} is "
                          "running."), err
    out = samsa_configs("--zookeeper", zk, "--entity-type", "brokers", "--entity-name", str(b.id),
                        "--alter", "--add-config", "leader.replication.throttled.rate=1000000")
    assert out.splitlines()[-1] == f"Completed updating config for entity: brokers '{b.id}'."


def test_topic_settings_apply_to_logs_loaded_at_start_up(make_broker):
    """A log loaded from disk at start-up takes its topic's own settings
    (here segment.bytes) once the broker hosts it again, not the broker's
    defaults."""
    b = make_broker().start()
    topic = unique("segs")
    create(b.bootstrap, topic, {"segment.bytes": "2000"})
    b.stop()
    b.start()
    p = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 0})
    for i in range(40):
        p.produce(topic, b"x" * 200, partition=0)
        p.flush(30)
    assert len(p) == 0
    segments = [f for f in os.listdir(os.path.join(b.logdir, f"{topic}-0")) if f.endswith(".log")]
    assert len(segments) >= 4, segments
