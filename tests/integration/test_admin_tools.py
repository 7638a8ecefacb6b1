"""samsa's admin tools beside Kafka 3.9.1's, against the same broker:
samsa-get-offsets (GetOffsetShell), samsa-delete-records
(DeleteRecordsCommand), samsa-log-dirs (LogDirsCommand) and
samsa-topics --alter (TopicCommand) and samsa-consumer-groups
(ConsumerGroupCommand) print what Kafka's print."""
import json
import subprocess

from confluent_kafka import Producer

from conftest import kafka_tools, tool, unique
from test_clients import create_topic


def run(cmd, ok=True):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert (r.returncode == 0) == ok, r.stdout + r.stderr
    return r


def produce(bootstrap, topic, partitions, n, base_ts=1700000000000):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for i in range(n):
        p.produce(topic, b"v%d" % i, partition=i % partitions, timestamp=base_ts + i * 100)
    assert p.flush(30) == 0


def test_get_offsets_prints_what_kafka_prints(broker):
    topic = unique("offs")
    create_topic(broker.bootstrap, topic, 3)
    produce(broker.bootstrap, topic, 3, 30)
    kafka = kafka_tools("org.apache.kafka.tools.GetOffsetShell")
    samsa = [tool("samsa-get-offsets")]
    bs = ["--bootstrap-server", broker.bootstrap]
    cases = [["--topic", topic], ["--topic", topic, "--time", "-2"],
             ["--topic", topic, "--time", "earliest"], ["--topic", topic, "--time", "-3"],
             ["--topic", topic, "--time", "1700000001450"],
             ["--topic", topic, "--time", "1800000000000"],
             ["--topic", topic, "--partitions", "0,2"],
             ["--topic-partitions", f"{topic}:1-"], ["--topic-partitions", f"{topic}:-2"],
             ["--topic", topic[:-3] + ".*", "--time", "latest"]]
    for args in cases:
        expected = run(kafka + bs + args).stdout
        assert run(samsa + bs + args).stdout == expected, args
        assert expected.strip() or args[-1] == "1800000000000"
    r = run(samsa + bs + ["--topic", "no-such-topic-x"], ok=False)
    assert r.stderr == "Could not match any topic-partitions with the specified filters\n"


def test_delete_records_prints_what_kafka_prints(broker, tmp_path):
    mine, theirs = unique("delrec"), unique("delrec")
    for t in (mine, theirs):
        create_topic(broker.bootstrap, t, 2)
        produce(broker.bootstrap, t, 2, 20)
    outputs = {}
    for t, cmd in ((mine, [tool("samsa-delete-records")]),
                   (theirs, kafka_tools("org.apache.kafka.tools.DeleteRecordsCommand"))):
        spec = tmp_path / f"{t}.json"
        spec.write_text(json.dumps({"version": 1, "partitions": [
            {"topic": t, "partition": 0, "offset": 4}, {"topic": t, "partition": 1, "offset": -1}]}))
        out = run(cmd + ["--bootstrap-server", broker.bootstrap, "--offset-json-file",
                         str(spec)]).stdout
        lines = out.replace(t, "TOPIC").splitlines()
        outputs[t] = lines[:2] + sorted(lines[2:])
    assert outputs[mine] == outputs[theirs]
    assert outputs[mine][2:] == ["partition: TOPIC-0\tlow_watermark: 4",
                                 "partition: TOPIC-1\tlow_watermark: 10"]
    dup = tmp_path / "dup.json"
    dup.write_text(json.dumps({"version": 1, "partitions": [
        {"topic": mine, "partition": 0, "offset": 1}, {"topic": mine, "partition": 0, "offset": 2}]}))
    r = run([tool("samsa-delete-records"), "--bootstrap-server", broker.bootstrap,
             "--offset-json-file", str(dup)], ok=False)
    assert r.stderr == f"Offset json file contains duplicate topic partitions: {mine}-0\n"


def test_log_dirs_prints_what_kafka_prints(broker):
    topic = unique("dirs")
    create_topic(broker.bootstrap, topic, 2)
    produce(broker.bootstrap, topic, 2, 40)
    args = ["--bootstrap-server", broker.bootstrap, "--describe", "--topic-list", topic]
    outs = [run(cmd + args).stdout.splitlines() for cmd in
            ([tool("samsa-log-dirs")], kafka_tools("org.apache.kafka.tools.LogDirsCommand"))]

    def norm(lines):
        doc = json.loads(lines[2])
        for b in doc["brokers"]:
            for d in b["logDirs"]:
                d["partitions"].sort(key=lambda p: p["partition"])
        return lines[:2], doc
    assert norm(outs[0]) == norm(outs[1])
    assert len(norm(outs[0])[1]["brokers"][0]["logDirs"][0]["partitions"]) == 2
    r = run([tool("samsa-log-dirs"), "--bootstrap-server", broker.bootstrap, "--describe",
             "--broker-list", "77"], ok=False)
    assert r.stderr == ("ERROR: The given brokers do not exist from --broker-list: 77. Current "
                        f"existent brokers: {broker.id}\n")


def test_topics_alter_partitions(broker):
    topic = unique("grow")
    create_topic(broker.bootstrap, topic, 1)
    samsa = [tool("samsa-topics"), "--bootstrap-server", broker.bootstrap]
    kafka = kafka_tools("org.apache.kafka.tools.TopicCommand") + ["--bootstrap-server",
                                                                  broker.bootstrap]
    assert run(samsa + ["--alter", "--topic", topic, "--partitions", "3"]).stdout == ""
    described = run(samsa + ["--describe", "--topic", topic]).stdout
    assert "PartitionCount: 3" in described
    r_samsa = run(samsa + ["--alter", "--topic", topic, "--partitions", "2"], ok=False)
    r_kafka = run(kafka + ["--alter", "--topic", topic, "--partitions", "2"], ok=False)
    # Both print the error on stdout (TopicCommand.printException).
    assert r_samsa.stdout.splitlines()[0] == r_kafka.stdout.splitlines()[0]
    r = run(samsa + ["--alter", "--topic", unique("missing"), "--partitions", "2"], ok=False)
    assert "does not exist as expected" in r.stdout


def test_broker_api_versions_prints_what_kafka_prints(broker):
    """kafka-broker-api-versions (Kafka 3.9.1's BrokerApiVersionsCommand,
    in Kafka's core jar) and samsa-broker-api-versions print the same."""
    import os
    from servers import ensure_kafka
    lib = ensure_kafka("3.9.1")
    kafka = run(["java", "-Xmx256m", "-Dlog4j.configuration=file:/dev/null", "-cp",
                 os.path.join(lib, "*"), "kafka.admin.BrokerApiVersionsCommand",
                 "--bootstrap-server", broker.bootstrap]).stdout
    samsa = run([tool("samsa-broker-api-versions"), "--bootstrap-server",
                 broker.bootstrap]).stdout
    assert samsa == kafka
    assert f"(id: {broker.id} rack: null) -> (" in samsa and "Produce(0): " in samsa


def test_console_producer_partitions_keys_as_java(broker):
    """samsa-console-producer puts each key on the partition Java's
    producer picks (murmur2, as kafka-python's DefaultPartitioner computes
    it), not librdkafka's default crc32 one."""
    from confluent_kafka import Consumer, TopicPartition
    from kafka.partitioner.default import murmur2
    topic = unique("keys")
    create_topic(broker.bootstrap, topic, 5)
    lines = "".join(f"key{i}:value{i}\n" for i in range(60))
    r = subprocess.run([tool("samsa-console-producer"), "--bootstrap-server", broker.bootstrap,
                        "--topic", topic, "--property", "parse.key=true", "--property",
                        "key.separator=:"], input=lines,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("g"),
                  "enable.partition.eof": True})
    c.assign([TopicPartition(topic, p, 0) for p in range(5)])
    where, eof = {}, set()
    while len(eof) < 5:
        for m in c.consume(100, 5.0):
            if m.error():
                eof.add(m.partition())
            else:
                where[m.key()] = m.partition()
    c.close()
    assert len(where) == 60
    assert where == {b"key%d" % i: (murmur2(b"key%d" % i) & 0x7fffffff) % 5 for i in range(60)}


def test_kafka_script_names_run_the_samsa_tools(broker, tmp_path):
    """`make install-kafka-names` (opt-in) installs kafka-topics.sh and the
    other Kafka script names pointing at the samsa tools; a script calling
    them by Kafka's names gets the samsa tool's answer."""
    import os
    build = os.path.dirname(tool("samsa-topics"))
    dest = tmp_path / "root"
    r = subprocess.run(["make", "-C", build, "install-kafka-names", f"DESTDIR={dest}",
                        "prefix=/usr"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    bindir = dest / "usr" / "bin"
    topic = unique("names")
    create_topic(broker.bootstrap, topic, 1)
    via_kafka_name = run([str(bindir / "kafka-topics.sh"), "--bootstrap-server", broker.bootstrap,
                          "--list"]).stdout
    assert topic in via_kafka_name.splitlines()
    assert via_kafka_name == run([tool("samsa-topics"), "--bootstrap-server", broker.bootstrap,
                                  "--list"]).stdout
    names = sorted(p.name for p in bindir.iterdir() if p.name.startswith("kafka-"))
    assert names == sorted(f"kafka-{n}.sh" for n in (
        "topics", "configs", "console-producer", "console-consumer", "consumer-groups",
        "producer-perf-test", "consumer-perf-test", "get-offsets", "delete-records", "log-dirs",
        "broker-api-versions", "dump-log", "acls"))


def dump_log_kafka(*args):
    import os
    from servers import ensure_kafka
    lib = ensure_kafka("3.9.1")
    return run(["java", "-Xmx256m", "-Dlog4j.configuration=file:/dev/null", "-cp",
                os.path.join(lib, "*"), "kafka.tools.DumpLogSegments", *args]).stdout


def test_dump_log_prints_what_kafka_prints(broker):
    """samsa-dump-log and Kafka 3.9.1's DumpLogSegments on the broker's own
    files (samsa's, or Kafka's under SAMSA_TEST_TARGET=kafka): keyed,
    headered, compressed, idempotent and transactional batches, markers,
    the offset and time indexes, producer snapshots and the transaction
    index."""
    import glob
    import os
    from confluent_kafka import Producer
    topic = unique("dump")
    create_topic(broker.bootstrap, topic, 1, {"segment.bytes": "4096"})
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5, "batch.num.messages": 20,
                  "compression.type": "lz4", "enable.idempotence": True})
    for i in range(200):
        p.produce(topic, value=b"value-%d-" % i + b"x" * 40, key=None if i % 7 == 0 else b"k%d" % i,
                  headers=[("h1", b"x"), ("h2", None)] if i % 3 == 0 else None, partition=0,
                  timestamp=1700000000000 + i)
    assert p.flush(30) == 0
    t = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": unique("tx")})
    t.init_transactions(30)
    for commit in (False, True):
        t.begin_transaction()
        for i in range(3):
            t.produce(topic, value=b"txn-%d" % i, partition=0)
        assert t.flush(30) == 0     # abort_transaction would purge what is unsent
        t.commit_transaction(30) if commit else t.abort_transaction(30)
    for i in range(60):     # rolls past the transactions: snapshots, a .txnindex
        p.produce(topic, value=b"y" * 60, partition=0)
    assert p.flush(30) == 0
    d = os.path.join(broker.logdir, f"{topic}-0")
    files = sorted(glob.glob(os.path.join(d, "*.log")) + glob.glob(os.path.join(d, "*.index")) +
                   glob.glob(os.path.join(d, "*.timeindex")) +
                   glob.glob(os.path.join(d, "*.snapshot")) + glob.glob(os.path.join(d, "*.txnindex")))
    assert any(f.endswith(".snapshot") for f in files), os.listdir(d)
    assert any(f.endswith(".txnindex") for f in files), " ".join(sorted(os.listdir(d)))
    for extra in ([], ["--deep-iteration"], ["--print-data-log"]):
        args = ["--files", ",".join(files)] + extra
        expected = dump_log_kafka(*args)
        got = run([tool("samsa-dump-log"), *args]).stdout
        assert got == expected, extra
    assert "endTxnMarker: ABORT" in got and "headerKeys: [h1,h2]" in got


def test_topics_zookeeper_mode_matches_kafka_2_8(make_broker, zookeeper):
    """samsa-topics --zookeeper and Kafka 2.8.2's kafka-topics --zookeeper:
    create, list, describe and delete print the same, and the running
    broker (samsa, or Kafka under SAMSA_TEST_TARGET=kafka) serves and then
    deletes the topic each creates."""
    import os
    import re
    from conftest import wait_for
    from servers import ensure_kafka
    b = make_broker().start()
    zk = ["--zookeeper", zookeeper.connect + b.chroot]
    lib = ensure_kafka("2.8.2")
    kafka28 = ["java", "-Xmx256m", "-Dlog4j.configuration=file:/dev/null", "-cp",
               os.path.join(lib, "*"), "kafka.admin.TopicCommand"]
    outputs = {}
    for kind, cmd in (("samsa", [tool("samsa-topics")]), ("kafka", kafka28)):
        topic = unique("zktopic")
        out = [run(cmd + zk + ["--create", "--topic", topic, "--partitions", "2",
                               "--replication-factor", "1", "--config", "retention.ms=123456"]).stdout]
        wait_for(lambda: "Leader: none" not in run(cmd + zk + ["--describe", "--topic", topic]).stdout,
                 30, "leaders elected")
        out.append(run(cmd + zk + ["--describe", "--topic", topic]).stdout)
        out.append("\n".join(l for l in run(cmd + zk + ["--list"]).stdout.splitlines()
                             if topic in l))
        out.append(run(cmd + zk + ["--delete", "--topic", topic]).stdout)
        admin_topics = lambda: run([tool("samsa-topics"), "--bootstrap-server", b.bootstrap,
                                    "--list"]).stdout.split()
        wait_for(lambda: topic not in admin_topics(), 30, "the topic deleted")
        outputs[kind] = [re.sub(r"TopicId: \S+", "TopicId: ID", o.replace(topic, "TOPIC"))
                         for o in out]
    assert outputs["samsa"] == outputs["kafka"]
    assert "Configs: retention.ms=123456" in outputs["samsa"][1]
    # Created without a topic id, as Kafka 2.8's tool does; the controller adds one.
    assert "\tTopicId: ID\t" in outputs["samsa"][1]


def commit_offsets(bootstrap, topic, group, offsets):
    """Commits offsets {partition: offset} for group, which then has no
    member (an Empty group with offsets, as after its consumers stop)."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()],
                 asynchronous=False)
    finally:
        c.close()


def rows_sorted(text):
    """The rows of a table in one order: Kafka's tool keeps the order of
    the broker's answer, which differs between brokers.  Line breaks and
    everything else stay as printed (--reset-offsets prints its rows
    without breaks: there each row starts with the masked group)."""
    lines = text.split("\n")
    if len(lines) == 2 and lines[1].startswith("GROUP") and "NEW-OFFSET" in lines[1]:
        end = lines[1].index("NEW-OFFSET") + 15
        rows = ["GROUP" + r for r in lines[1][end:].split("GROUP")[1:]]
        return "\n" + lines[1][:end] + "".join(sorted(rows))
    if len(lines) > 3 and lines[0] == "":
        tail = [""] if lines[-1] == "" else []
        body = lines[2:len(lines) - len(tail)]
        return "\n".join(lines[:2] + sorted(body) + tail)
    return text


def test_consumer_groups_prints_what_kafka_prints(broker):
    """samsa-consumer-groups and Kafka 3.9.1's kafka-consumer-groups on a
    group with committed offsets and no members: --list, --describe,
    --describe (offsets, --state, --members --verbose), --reset-offsets
    --to-earliest --execute and --delete print the same
    (each tool on a group of its own, names masked), byte for byte but for
    the order of table rows: Kafka 3.9's --reset-offsets prints its rows
    without line breaks, and so does samsa's."""
    topic = unique("cg")
    create_topic(broker.bootstrap, topic, 2)
    produce(broker.bootstrap, topic, 2, 20)
    tools = {"samsa": [tool("samsa-consumer-groups")],
             "kafka": kafka_tools("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand")}
    outputs = {}
    for kind, cmd in tools.items():
        group = unique("cg-" + kind)
        commit_offsets(broker.bootstrap, topic, group, {0: 4, 1: 7})
        base = cmd + ["--bootstrap-server", broker.bootstrap]
        steps = [["--list"], ["--describe", "--group", group],
                 ["--describe", "--group", group, "--state"],
                 ["--describe", "--group", group, "--members", "--verbose"],
                 ["--reset-offsets", "--group", group, "--topic", topic, "--to-earliest",
                  "--execute"],
                 ["--describe", "--group", group, "--offsets"],
                 ["--delete", "--group", group], ["--list"]]
        out = []
        for args in steps:
            r = run(base + args)
            text = r.stdout if args != ["--list"] else \
                "\n".join(line for line in r.stdout.splitlines() if line == group)
            out.append(rows_sorted(text.replace(group, "GROUP").replace(topic, "TOPIC")))
        outputs[kind] = out
    assert outputs["samsa"] == outputs["kafka"]
    assert outputs["kafka"][0] == "GROUP" and outputs["kafka"][-1] == ""
