"""Real clients (kcat, confluent-kafka/librdkafka, kafka-python, Java
kafka-clients) producing to and consuming from a samsa broker."""
import collections
import subprocess
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KpTopicPartition

from conftest import unique

CODECS = ["gzip", "snappy", "lz4", "zstd"]


def create_topic(bootstrap, name, partitions=3, config=None):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futs = admin.create_topics([NewTopic(name, partitions, 1, config=config or {})])
    futs[name].result(30)


def confluent_consume(bootstrap, topic, partitions, count, timeout=60):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g"),
                  "enable.auto.commit": False, "enable.partition.eof": False})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    out = []
    deadline = time.time() + timeout
    while len(out) < count and time.time() < deadline:
        for m in c.consume(10000, 1.0):
            assert m.error() is None, m.error()
            out.append(m)
    c.close()
    return out


def kafka_python_consume(bootstrap, topic, count, timeout_ms=30000):
    c = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=timeout_ms,
                      enable_auto_commit=False)
    parts = c.partitions_for_topic(topic)
    tps = [KpTopicPartition(topic, p) for p in parts]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    out = []
    for m in c:
        out.append(m)
        if len(out) >= count:
            break
    c.close()
    return out


def test_kcat_round_trip(broker):
    topic = unique("kcat")
    lines = "".join(f"key{i}:value{i}\n" for i in range(50))
    subprocess.run(["kcat", "-b", broker.bootstrap, "-P", "-t", topic, "-K:"], input=lines.encode(),
                   check=True, timeout=60)
    out = subprocess.run(["kcat", "-b", broker.bootstrap, "-C", "-t", topic, "-e", "-q",
                          "-f", "%k=%s\n"], capture_output=True, check=True, timeout=60)
    got = sorted(out.stdout.decode().split())
    assert got == sorted(f"key{i}=value{i}" for i in range(50))


def test_confluent_100k_keyed_with_headers(broker):
    """100k keyed messages with headers over 3 partitions: keys land where the
    client's partitioner put them, order per partition holds, offsets are
    dense, timestamps and headers survive."""
    topic = unique("bulk")
    create_topic(broker.bootstrap, topic, 3)
    n = 100_000
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5, "acks": 1})
    placed = {}

    def dr(err, msg):
        assert err is None, err
        placed[msg.key().decode()] = (msg.partition(), msg.offset())

    base_ts = int(time.time() * 1000) - 100_000
    for i in range(n):
        while True:
            try:
                p.produce(topic, key=f"k{i}", value=f"v{i}", headers=[("idx", str(i).encode())],
                          timestamp=base_ts + i, on_delivery=dr)
                break
            except BufferError:
                p.poll(0.1)
        if i % 10000 == 0:
            p.poll(0)
    assert p.flush(60) == 0
    assert len(placed) == n
    msgs = confluent_consume(broker.bootstrap, topic, 3, n)
    assert len(msgs) == n
    by_part = collections.defaultdict(list)
    for m in msgs:
        key = m.key().decode()
        i = int(key[1:])
        assert placed[key] == (m.partition(), m.offset())
        assert m.value().decode() == f"v{i}"
        assert m.headers() == [("idx", str(i).encode())]
        assert m.timestamp()[1] == base_ts + i
        by_part[m.partition()].append((m.offset(), i))
    assert len(by_part) == 3
    for part, recs in by_part.items():
        offsets = [o for o, _ in recs]
        assert offsets == list(range(len(recs))), "offsets are dense per partition"
        idxs = [i for _, i in recs]
        assert idxs == sorted(idxs), "produce order holds within a partition"


def test_kafka_python_round_trip(broker):
    topic = unique("kp")
    create_topic(broker.bootstrap, topic, 3)
    prod = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5)
    futures = [(i, prod.send(topic, key=b"k%d" % i, value=b"v%d" % i, headers=[("h", b"x%d" % i)]))
               for i in range(5000)]
    prod.flush()
    placed = {}
    for i, f in futures:
        md = f.get(30)
        placed[i] = (md.partition, md.offset)
    prod.close()
    msgs = kafka_python_consume(broker.bootstrap, topic, 5000)
    assert len(msgs) == 5000
    for m in msgs:
        i = int(m.key[1:])
        assert placed[i] == (m.partition, m.offset)
        assert m.value == b"v%d" % i
        assert m.headers == [("h", b"x%d" % i)]


def test_java_round_trip(broker, java_client):
    topic = unique("java")
    create_topic(broker.bootstrap, topic, 3)
    out = subprocess.run(java_client + ["produce", broker.bootstrap, topic, "3000", "none"],
                         capture_output=True, check=True, timeout=180).stdout.decode()
    placed = {}
    for line in out.splitlines():
        part, off, key = line.split("\t")
        placed[key] = (int(part), int(off))
    assert len(placed) == 3000
    out = subprocess.run(java_client + ["consume", broker.bootstrap, topic, "3000"],
                         capture_output=True, check=True, timeout=180).stdout.decode()
    rows = [l.split("\t") for l in out.splitlines()]
    assert len(rows) == 3000
    for part, off, key, value, ts, headers in rows:
        assert placed[key] == (int(part), int(off))
        assert value == key.replace("java-k", "java-v")
        assert headers == "src=java;"
        assert int(ts) > 0


def test_java_admin(broker, java_client):
    topic = unique("jadmin")
    out = subprocess.run(java_client + ["admin", broker.bootstrap, topic, "4"], capture_output=True,
                         check=True, timeout=180).stdout.decode().splitlines()
    assert out == [f"created {topic}", "listed true", "partitions 4", f"cluster {out[3].split()[1]}",
                   "duplicate-create TopicExistsException", f"deleted {topic}"]


def produce_with(client, bootstrap, topic, codec, n, java_client):
    if client == "confluent":
        p = Producer({"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 20})
        for i in range(n):
            p.produce(topic, key=f"c{i}", value=f"confluent-{codec}-{i}" * 5)
        assert p.flush(60) == 0
    elif client == "kafka-python":
        p = KafkaProducer(bootstrap_servers=bootstrap, compression_type=codec, linger_ms=20)
        for i in range(n):
            p.send(topic, key=b"p%d" % i, value=(f"kafka-python-{codec}-{i}" * 5).encode())
        p.flush()
        p.close()
    else:
        subprocess.run(java_client + ["produce", bootstrap, topic, str(n), codec],
                       capture_output=True, check=True, timeout=180)


@pytest.mark.parametrize("codec", CODECS)
def test_compression_interop(broker, java_client, codec):
    """Compressed batches produced by each client are consumable by every other client."""
    n = 300
    for producer in ["confluent", "kafka-python", "java"]:
        topic = unique(f"cmp-{codec}-{producer}")
        create_topic(broker.bootstrap, topic, 2)
        produce_with(producer, broker.bootstrap, topic, codec, n, java_client)
        got = confluent_consume(broker.bootstrap, topic, 2, n)
        assert len(got) == n, f"confluent read {len(got)} of {producer}'s {codec} batches"
        got = kafka_python_consume(broker.bootstrap, topic, n)
        assert len(got) == n, f"kafka-python read {len(got)} of {producer}'s {codec} batches"
        out = subprocess.run(java_client + ["consume", broker.bootstrap, topic, str(n)],
                             capture_output=True, check=True, timeout=180).stdout.decode()
        assert len(out.splitlines()) == n, f"java read of {producer}'s {codec} batches"
        out = subprocess.run(["kcat", "-b", broker.bootstrap, "-C", "-t", topic, "-e", "-q"],
                             capture_output=True, check=True, timeout=60).stdout.decode()
        assert len(out.splitlines()) == n, f"kcat read of {producer}'s {codec} batches"


def test_describe_configs_and_offsets_for_times(broker):
    topic = unique("cfg")
    create_topic(broker.bootstrap, topic, 1, {"retention.ms": "12345"})
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    res = admin.describe_configs([ConfigResource("topic", topic)])
    cfg = list(res.values())[0].result(30)
    assert cfg["retention.ms"].value == "12345"
    assert not cfg["retention.ms"].is_default
    assert cfg["max.message.bytes"].value == "1048588"
    assert cfg["cleanup.policy"].value == "delete"
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    for i in range(100):
        p.produce(topic, value=b"x", timestamp=1_600_000_000_000 + i * 1000)
        p.flush()
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("g")})
    got = c.offsets_for_times([TopicPartition(topic, 0, 1_600_000_050_500)], 30)
    assert got[0].offset == 51
    lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), 30)
    assert (lo, hi) == (0, 100)
    c.close()


def test_idempotent_producer(broker):
    topic = unique("idem")
    create_topic(broker.bootstrap, topic, 1)
    p = Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True, "linger.ms": 2})
    for i in range(2000):
        p.produce(topic, value=str(i))
    assert p.flush(60) == 0
    msgs = confluent_consume(broker.bootstrap, topic, 1, 2000)
    assert [m.value().decode() for m in msgs] == [str(i) for i in range(2000)]
