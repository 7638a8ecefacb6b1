"""What a leader validates on append, as Kafka's LogValidator: records in
compressed batches are decompressed and checked (count, framing, dense
inner offsets), and keys are required on compacted topics.  Batches come
from kafka-python's encoder, then are damaged on purpose with a valid CRC,
so only the record check can catch them."""
import gzip
import struct
import time

import pytest
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.util import calc_crc32c

from kproto import Conn, create_topics_v0, parse_create_topics_v0, parse_produce_v3_response, produce_v3
from conftest import is_samsa, unique

GZIP, SNAPPY, LZ4, ZSTD = 1, 2, 3, 4
UNKNOWN_SERVER_ERROR, CORRUPT_MESSAGE, INVALID_RECORD = -1, 2, 87


def expected(broker, samsa_code):
    """Kafka 3.9 answers two of these cases with UNKNOWN_SERVER_ERROR: an
    undecompressable batch ("Failed to decompress record stream") and inner
    offsets with gaps (its error path throws "key is skipped in
    PartialDefaultRecord").  samsa names the problem instead (README,
    deliberate differences)."""
    return samsa_code if is_samsa(broker) else UNKNOWN_SERVER_ERROR


def build(n, compression=0, keys=True, value=b"value"):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=compression, is_transactional=False,
                                  producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                  batch_size=1 << 20)
    for i in range(n):
        b.append(i, timestamp=1700000000000 + i, key=(b"k%d" % i) if keys else None,
                 value=value, headers=[])
    return bytearray(b.build())


def reseal(batch):
    """Recomputes the CRC-32C after an edit."""
    struct.pack_into(">I", batch, 17, calc_crc32c(bytes(batch[21:])))
    return bytes(batch)


def with_payload(batch, payload, count, compression):
    """The batch's header with another records section."""
    hdr = bytearray(batch[:61])
    struct.pack_into(">i", hdr, 8, 61 - 12 + len(payload))
    struct.pack_into(">h", hdr, 21, compression)
    struct.pack_into(">i", hdr, 23, count - 1)
    struct.pack_into(">i", hdr, 57, count)
    return reseal(hdr + payload)


@pytest.fixture
def topic_of(broker):
    def make(configs=None):
        name = unique("rec")
        c = Conn(broker.port)
        assert parse_create_topics_v0(c.request(19, 0, create_topics_v0(name, 1, 1, configs)))[name] == 0
        c.close()
        return name
    return make


def produce(broker, topic, records, version=7):
    c = Conn(broker.port)
    res = parse_produce_v3_response(c.request(0, version, produce_v3(topic, 0, records)))
    c.close()
    return res[0][2]


@pytest.mark.parametrize("codec", [GZIP, SNAPPY, LZ4, ZSTD])
def test_well_formed_compressed_batch_is_accepted(broker, topic_of, codec):
    assert produce(broker, topic_of(), bytes(build(50, codec))) == 0


def test_junk_gzip_batch_claiming_two_billion_records(broker, topic_of):
    t = topic_of()
    junk = with_payload(build(1), gzip.compress(b"\x00" * 3)[:-4] + b"junk", 2**31 - 1, GZIP)
    assert produce(broker, t, junk) == expected(broker, CORRUPT_MESSAGE)
    # Nothing was stored: the next batch lands at offset 0.
    c = Conn(broker.port)
    res = parse_produce_v3_response(c.request(0, 3, produce_v3(t, 0, bytes(build(1)))))
    assert res[0][2:] == (0, 0)
    c.close()


def test_compressed_batch_with_fewer_records_than_declared(broker, topic_of):
    good = build(3)
    records = bytes(good[61:])
    bad = with_payload(good, gzip.compress(records), 5, GZIP)
    assert produce(broker, topic_of(), bad) == INVALID_RECORD


def test_compressed_batch_with_more_records_than_declared(broker, topic_of):
    good = build(3)
    bad = with_payload(good, gzip.compress(bytes(good[61:])), 2, GZIP)
    assert produce(broker, topic_of(), bad) == INVALID_RECORD


def test_compressed_batch_with_gaps_in_inner_offsets(broker, topic_of):
    # Records 0, 1, 3: offset deltas that are not dense.
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False,
                                  producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                  batch_size=1 << 20)
    for off in (0, 1, 3):
        b.append(off, timestamp=1700000000000, key=b"k", value=b"v", headers=[])
    raw = bytearray(b.build())
    bad = with_payload(raw, gzip.compress(bytes(raw[61:])), 3, GZIP)
    assert produce(broker, topic_of(), bad) == expected(broker, INVALID_RECORD)


@pytest.mark.parametrize("codec", [0, GZIP, ZSTD])
def test_keyless_record_on_compacted_topic(broker, topic_of, codec):
    t = topic_of({"cleanup.policy": "compact"})
    assert produce(broker, t, bytes(build(3, codec, keys=False))) == INVALID_RECORD
    assert produce(broker, t, bytes(build(3, codec, keys=True))) == 0


def test_batch_larger_than_a_segment_is_refused(broker):
    """Kafka refuses a batch larger than the topic's segment.bytes
    (RECORD_LIST_TOO_LARGE) instead of writing a segment past its size."""
    from confluent_kafka import KafkaError, Producer
    from conftest import unique
    from test_clients import create_topic
    topic = unique("seg")
    create_topic(broker.bootstrap, topic, 1, {"segment.bytes": "2000"})
    errors = []
    # Every record alone is past segment.bytes, whatever the producer's
    # batching (small batches sent early would fit and be stored).
    p = Producer({"bootstrap.servers": broker.bootstrap, "retries": 0})
    for i in range(5):
        p.produce(topic, b"x" * 2500, partition=0,
                  on_delivery=lambda err, msg: errors.append(err.code() if err else None))
    p.flush(30)
    assert set(errors) == {KafkaError.RECORD_LIST_TOO_LARGE}, errors
    small = Producer({"bootstrap.servers": broker.bootstrap})
    small.produce(topic, b"fits", partition=0)
    assert small.flush(30) == 0


@pytest.mark.parametrize("api_version,compression", [
    ((0, 10, 1), None), ((0, 10, 1), "gzip"), ((0, 10, 1), "snappy"), ((0, 10, 1), "lz4"),
    ((0, 9), None), ((0, 9), "gzip"), ((0, 9), "snappy"), ((0, 8, 2), None)])
def test_legacy_producers_messages_are_up_converted(broker, api_version, compression):
    """Producers speaking Produce v0-v2 (kafka-python pinned to Kafka 0.8.2,
    0.9 and 0.10.1: magic 0 and 1 message sets, plain and compressed) are
    stored as record batches v2, as Kafka 3.x's LogValidator converts them:
    a current consumer reads every key, value and (magic 1) timestamp."""
    from confluent_kafka import Consumer, TopicPartition
    from kafka import KafkaProducer
    from test_clients import create_topic
    topic = unique("legacy")
    create_topic(broker.bootstrap, topic, 1)
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, api_version=api_version,
                      compression_type=compression, linger_ms=20, acks=1)
    sent = []
    for i in range(50):
        key = None if i % 5 == 0 else b"k%d" % i
        ts = 1700000000000 + i * 10
        p.send(topic, value=b"v%d" % i, key=key, partition=0, timestamp_ms=ts)
        sent.append((key, b"v%d" % i, ts if api_version >= (0, 10) else -1))
    p.flush(30)
    p.close()
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("g"),
                  "enable.partition.eof": True})
    c.assign([TopicPartition(topic, 0, 0)])
    got, done = [], False
    deadline = time.time() + 30
    while not done and time.time() < deadline:
        for m in c.consume(100, 0.5):
            if m.error():
                done = True
            else:
                got.append((m.key(), m.value(), m.timestamp()[1]))
    c.close()
    assert got == sent
