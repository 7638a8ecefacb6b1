"""Bad input: each case gets Kafka's error code or closes only that
connection, and the broker keeps serving everyone else."""
import socket
import struct

import pytest

from conftest import TARGET, is_samsa, unique, wait_for
from kproto import (Conn, api_versions_v0, call, coordinator_conn, batch, create_topics_v0, frame, kstr, metadata_v4,
                    parse_create_topics_v0, parse_metadata_v4_topic_errors,
                    parse_produce_v3_response, produce_v3)


@pytest.fixture
def bystander(broker):
    """A client connected before the bad input, checked after it."""
    c = Conn(broker.port)
    assert api_versions_v0(c)[0] == 0
    yield c
    err, keys = api_versions_v0(c)
    assert err == 0 and 0 in keys, "the other connection was affected"
    c.close()
    assert broker.proc.poll() is None, "broker died"


def make_topic(broker, name, partitions=1, configs=None):
    c = Conn(broker.port)
    res = parse_create_topics_v0(c.request(19, 0, create_topics_v0(name, partitions, 1, configs)))
    c.close()
    assert res[name] == 0


def test_frame_larger_than_socket_request_max_bytes(broker, bystander):
    c = Conn(broker.port)
    c.send_raw(struct.pack(">i", 200 * 1024 * 1024) + b"\x00" * 16)
    assert c.closed_by_peer()
    if is_samsa(broker):
        assert "socket.request.max.bytes" in broker.log_text()


def test_negative_frame_size(broker, bystander):
    c = Conn(broker.port)
    c.send_raw(struct.pack(">i", -5))
    assert c.closed_by_peer()


def test_truncated_request_then_disconnect(broker, bystander):
    c = Conn(broker.port)
    full = frame(3, 1, 1, struct.pack(">i", -1))
    c.send_raw(full[:-2])   # size promises more than arrives
    c.close()


def test_garbage_bytes(broker, bystander):
    c = Conn(broker.port)
    junk = bytes(range(256)) * 4
    c.send_raw(struct.pack(">i", len(junk)) + junk)
    assert c.closed_by_peer()


def test_malformed_body_closes_connection(broker, bystander):
    c = Conn(broker.port)
    # Metadata v1 whose topic array count claims far more than the body holds.
    c.send_raw(frame(3, 1, 1, struct.pack(">i", 1000)))
    assert c.closed_by_peer()


def test_unknown_api_key(broker, bystander):
    c = Conn(broker.port)
    c.send_raw(frame(999, 0, 1, b""))
    assert c.closed_by_peer()
    if is_samsa(broker):
        assert "unsupported API key 999" in broker.log_text()


def test_unknown_version_of_known_api(broker, bystander):
    c = Conn(broker.port)
    c.send_raw(frame(3, 99, 1, b""))
    assert c.closed_by_peer()


def test_api_versions_unknown_version_falls_back_to_v0(broker, bystander):
    c = Conn(broker.port)
    body = c.request(18, 99, b"\x00\x00\x00")
    err, n = struct.unpack_from(">hi", body, 0)
    assert err == 35  # UNSUPPORTED_VERSION
    keys = {struct.unpack_from(">h", body, 6 + 6 * i)[0] for i in range(n)}
    assert 18 in keys  # Kafka lists only ApiVersions here; samsa lists every API
    assert api_versions_v0(c)[0] == 0  # connection stays usable
    c.close()


def test_crc_mismatch_is_corrupt_message(broker, bystander):
    topic = unique("crc")
    make_topic(broker, topic)
    rec = bytearray(batch(3))
    rec[-1] ^= 0xFF
    c = Conn(broker.port)
    res = parse_produce_v3_response(c.request(0, 3, produce_v3(topic, 0, bytes(rec))))
    assert res == [(topic, 0, 2, -1)]  # CORRUPT_MESSAGE
    res = parse_produce_v3_response(c.request(0, 3, produce_v3(topic, 0, batch(3))))
    assert res == [(topic, 0, 0, 0)]  # nothing of the bad batch was appended
    c.close()
    if is_samsa(broker):
        assert "CRC" in broker.log_text()


def test_batch_over_max_message_bytes(broker, bystander):
    topic = unique("big")
    make_topic(broker, topic, configs={"max.message.bytes": "1000"})
    c = Conn(broker.port)
    res = parse_produce_v3_response(c.request(0, 3, produce_v3(topic, 0, batch(1, value=b"x" * 5000))))
    assert res == [(topic, 0, 10, -1)]  # MESSAGE_TOO_LARGE
    c.close()


def test_unknown_topic_without_auto_create(broker, bystander):
    topic = unique("nope")
    c = Conn(broker.port)
    errs = parse_metadata_v4_topic_errors(c.request(3, 4, metadata_v4([topic], False)))
    assert errs == {topic: 3}  # UNKNOWN_TOPIC_OR_PARTITION
    res = parse_produce_v3_response(c.request(0, 3, produce_v3(topic, 0, batch(1))))
    assert res == [(topic, 0, 3, -1)]
    c.close()


def test_unknown_topic_with_auto_create_off(make_broker):
    b = make_broker(props={"auto.create.topics.enable": "false"}).start()
    topic = unique("off")
    c = Conn(b.port)
    errs = parse_metadata_v4_topic_errors(c.request(3, 4, metadata_v4([topic], True)))
    assert errs == {topic: 3}
    c.close()
    assert b.stop() == 0


@pytest.mark.parametrize("name", ["bad name", "a" * 250, "..", "x/y", ""])
def test_invalid_topic_names(broker, bystander, name):
    c = Conn(broker.port)
    res = parse_create_topics_v0(c.request(19, 0, create_topics_v0(name, 1)))
    assert res[name] == 17  # INVALID_TOPIC_EXCEPTION
    if name:
        errs = parse_metadata_v4_topic_errors(c.request(3, 4, metadata_v4([name], True)))
        assert errs[name] == 17
    c.close()


def test_disconnect_mid_request(broker, bystander):
    for cut in (1, 3, 10):
        c = Conn(broker.port)
        data = frame(0, 3, 1, produce_v3("whatever", 0, batch(2)))
        c.send_raw(data[:cut])
        c.close()


# ---- groups (requests encoded by kafka-python's protocol classes) ----

from kafka.protocol.commit import OffsetCommitRequest, OffsetCommitResponse  # noqa: E402
from kafka.protocol.group import (HeartbeatRequest, HeartbeatResponse, JoinGroupRequest,  # noqa: E402
                                  JoinGroupResponse, SyncGroupRequest, SyncGroupResponse)


@pytest.fixture
def coord(broker):
    c = coordinator_conn(broker.port)
    yield c
    c.close()


def join(c, group, member="", protocols=(("range", b"\x00\x00"),), ptype="consumer", session=10000):
    return call(c, JoinGroupRequest[0](group, session, member, ptype, list(protocols)), JoinGroupResponse)


def test_group_errors(broker, bystander, coord):
    g = unique("bad")
    # Joining: invalid group id, no protocols, empty protocol type, bad session timeout.
    assert join(coord, "").error_code == 24                        # INVALID_GROUP_ID
    assert join(coord, g, protocols=()).error_code == 23           # INCONSISTENT_GROUP_PROTOCOL
    assert join(coord, g, ptype="").error_code == 23
    assert join(coord, g, session=10).error_code == 26             # INVALID_SESSION_TIMEOUT
    assert join(coord, g, member="nobody").error_code == 25        # UNKNOWN_MEMBER_ID
    # A real member (JoinGroup v0 completes at once for a lone member).
    r = join(coord, g)
    assert r.error_code == 0 and r.generation_id == 1 and r.leader_id == r.member_id
    me, gen = r.member_id, r.generation_id
    other = Conn(broker.port)
    # A different protocol type cannot join the group.
    assert join(other, g, ptype="connect").error_code == 23
    s = call(coord, SyncGroupRequest[0](g, gen, me, [(me, b"")]), SyncGroupResponse)
    assert s.error_code == 0
    # Heartbeats: unknown member, stale generation, unknown group.
    hb = lambda grp, gen_, mem: call(coord, HeartbeatRequest[0](grp, gen_, mem), HeartbeatResponse).error_code
    assert hb(g, gen, me) == 0
    assert hb(g, gen, "nobody") == 25
    assert hb(g, gen + 5, me) == 22                                # ILLEGAL_GENERATION
    assert hb(unique("nogroup"), 1, "x") == 25
    # Commits: unknown member, stale generation, oversized metadata.
    topic = unique("t")
    make_topic(broker, topic)
    commit = lambda gen_, mem, meta: call(coord, OffsetCommitRequest[2](g, gen_, mem, -1, [(topic, [(0, 5, meta)])]),
                                          OffsetCommitResponse).topics[0][1][0][1]
    assert commit(gen, me, "ok") == 0
    assert commit(gen, "nobody", "") == 25
    assert commit(gen - 1, me, "") == 22
    assert commit(gen, me, "x" * 5000) == 12                       # OFFSET_METADATA_TOO_LARGE
    # A simple (generation -1) commit to an active group is refused.
    assert commit(-1, "", "") == 25
    other.close()


@pytest.mark.parametrize("key,value,message", [
    ("segment.bytes", "-1", "Invalid value -1 for configuration segment.bytes: Value must be at least 14"),
    ("segment.bytes", "3000000000",
     "Invalid value 3000000000 for configuration segment.bytes: Not a number of type INT"),
    ("segment.index.bytes", "banana",
     "Invalid value banana for configuration segment.index.bytes: Not a number of type INT"),
    ("cleanup.policy", "compact,shred",
     "Invalid value shred for configuration cleanup.policy: String must be one of: compact, delete"),
    ("min.cleanable.dirty.ratio", "1.5",
     "Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be no more than 1"),
    ("preallocate", "yes",
     "Invalid value yes for configuration preallocate: Expected value to be either true or false"),
    ("no.such.config", "1", "Unknown topic config name: no.such.config"),
])
def test_invalid_topic_config_is_refused(broker, bystander, key, value, message):
    """Topic configs are checked with Kafka's types and ranges before
    anything is written (INVALID_CONFIG with Kafka's message)."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    name = unique("badcfg")
    fut = admin.create_topics([NewTopic(name, 1, 1, config={key: value})])[name]
    with pytest.raises(KafkaException) as exc:
        fut.result(30)
    err = exc.value.args[0]
    assert err.code() == KafkaError.INVALID_CONFIG
    assert err.str() == message
    assert name not in admin.list_topics(timeout=10).topics


def test_replication_factor_above_live_brokers_is_refused(broker, bystander):
    """INVALID_REPLICATION_FACTOR with Kafka's message; nothing is created."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    name = unique("rf3")
    with pytest.raises(KafkaException) as exc:
        admin.create_topics([NewTopic(name, 1, 3)])[name].result(30)
    err = exc.value.args[0]
    assert err.code() == KafkaError.INVALID_REPLICATION_FACTOR
    assert err.str() == "Replication factor: 3 larger than available brokers: 1."
    assert name not in admin.list_topics(timeout=10).topics


def test_produce_to_internal_topic_is_refused(broker, bystander):
    """Clients cannot write into __consumer_offsets (Kafka's
    INVALID_TOPIC_EXCEPTION), so no injected record is loaded as a group."""
    c = coordinator_conn(broker.port, timeout=60)
    res = parse_produce_v3_response(c.request(0, 3, produce_v3("__consumer_offsets", 0, batch())))
    assert res == [("__consumer_offsets", 0, 17, -1)]
    c.close()


def test_manual_replica_assignment(broker, bystander):
    """CreateTopics with replicas chosen by the client: used as given when
    well formed, refused with Kafka's error codes otherwise."""
    from kafka.admin import KafkaAdminClient, NewTopic as KpNewTopic
    from kafka.errors import InvalidReplicationAssignmentError
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        good = unique("assigned")
        admin.create_topics([KpNewTopic(good, -1, -1, replica_assignments={0: [0], 1: [0]})])
        wait_for(lambda: good in admin.list_topics(), 30, "the assigned topic")
        md = admin.describe_topics([good])[0]
        assert sorted((p["partition"], p["replicas"]) for p in md["partitions"]) == [(0, [0]), (1, [0])]
        # With no authorizer every operation a topic supports is granted.
        assert sorted(md["authorized_operations"]) == [
            "ALTER", "ALTER_CONFIGS", "CREATE", "DELETE", "DESCRIBE", "DESCRIBE_CONFIGS", "READ", "WRITE"]
        for bad in ({0: [0], 2: [0]}, {0: [0, 0]}):
            name = unique("badassign")
            with pytest.raises(InvalidReplicationAssignmentError):
                admin.create_topics([KpNewTopic(name, -1, -1, replica_assignments=bad)])
            assert name not in admin.list_topics()
    finally:
        admin.close()


def test_transaction_requests_hostile(broker, bystander):
    """Transactional APIs under hostile input: WriteTxnMarkers naming 10,000
    partitions of a topic that does not exist is answered partition by
    partition (UNKNOWN_TOPIC_OR_PARTITION), an AddPartitionsToTxn that claims a
    billion topics closes only its connection, and a 32 KB transactional id
    gets a producer id like any other."""
    import time
    n = 10_000
    c = Conn(broker.port)
    body = struct.pack(">i", 1) + struct.pack(">qhb", 12345, 0, 1) + struct.pack(">i", 1)
    body += kstr(unique("no-such-topic")) + struct.pack(">i", n)
    body += b"".join(struct.pack(">i", p) for p in range(n)) + struct.pack(">i", 0)
    resp = c.request(27, 0, body)
    (nm,) = struct.unpack_from(">i", resp, 0)
    _pid, nt = struct.unpack_from(">qi", resp, 4)
    (tl,) = struct.unpack_from(">h", resp, 16)
    (np_,) = struct.unpack_from(">i", resp, 18 + tl)
    errors = {struct.unpack_from(">ih", resp, 22 + tl + 6 * i)[1] for i in range(np_)}
    assert (nm, nt, np_, errors) == (1, 1, n, {3})

    bad = Conn(broker.port)
    bad.send_raw(frame(24, 1, 1, kstr("tid") + struct.pack(">qhi", 1, 0, 1_000_000_000)))
    assert bad.closed_by_peer()

    long_id = "t" * 32_000
    deadline = time.time() + 60
    while True:     # as a client does: find the coordinator, then ask it
        found = c.request(10, 1, kstr(long_id) + struct.pack(">b", 1))
        err = struct.unpack_from(">h", found, 4)[0]
        if err == 0:
            out = c.request(22, 1, kstr(long_id) + struct.pack(">i", 60000))
            _, err, pid, epoch = struct.unpack(">ihqh", out[:16])
        if err not in (14, 15, 16) or time.time() > deadline:
            break
        time.sleep(0.2)
    assert (err, epoch) == (0, 0) and pid >= 0
    c.close()


def test_transactional_produce_hostile(broker, bystander):
    """Transactional batches that need the coordinator's word (KIP-890):
    thirty clients send a producer id their transactional id never had,
    for 20 partitions each, and hang up while the leader is still asking;
    a last one waits and every partition is refused with the coordinator's
    INVALID_PRODUCER_ID_MAPPING, nothing is written, and the broker keeps
    serving everyone else."""
    import time
    from confluent_kafka import Consumer, TopicPartition
    from test_transactions import txn_batch
    topic, tid, parts = unique("txn-hostile"), unique("txn-hostile-tid"), 20
    make_topic(broker, topic, parts)
    c = Conn(broker.port)
    deadline = time.time() + 60
    while struct.unpack_from(">h", c.request(10, 1, kstr(tid) + b"\x01"), 4)[0] != 0:
        assert time.time() < deadline, "no transaction coordinator"
        time.sleep(0.2)
    records = txn_batch(12345, 0, 0)
    body = kstr(tid) + struct.pack(">hi", -1, 30000) + struct.pack(">i", 1) + kstr(topic)
    body += struct.pack(">i", parts) + b"".join(
        struct.pack(">ii", p, len(records)) + records for p in range(parts))
    for _ in range(30):
        gone = Conn(broker.port)
        gone.send_raw(frame(0, 3, 1, body))
        gone.close()

    def answered():
        r = parse_produce_v3_response(c.request(0, 3, body))
        return r if {e for _, _, e, _ in r} != {19} else None    # coordinator still loading
    r = wait_for(answered, 60, "an answer from the transaction coordinator")
    assert sorted(p for _, p, _, _ in r) == list(range(parts))
    assert {(e, base) for _, _, e, base in r} == {(49, -1)}
    c.close()
    cons = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("g")})
    ends = [cons.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(parts)]
    cons.close()
    assert ends == [0] * parts


@pytest.mark.skipif(TARGET != "samsa", reason="Kafka sets no limit: it tries to place the partitions")
def test_absurd_partition_counts_are_refused(broker, bystander):
    """CreateTopics and CreatePartitions asking for 2^31-1 partitions get
    INVALID_PARTITIONS instead of the broker allocating for them; nothing
    is created and other connections are served."""
    from kafka.protocol.admin import CreatePartitionsRequest
    c = Conn(broker.port)
    name = unique("huge")
    assert parse_create_topics_v0(c.request(19, 0, create_topics_v0(name, 2 ** 31 - 1, 1)))[name] == 37
    small = unique("small")
    make_topic(broker, small)
    r = call(c, CreatePartitionsRequest[0]([(small, (2 ** 31 - 1, None))], 30000, False))
    assert [(t, err) for t, err, _msg in r.topic_errors] == [(small, 37)]
    r = call(c, CreatePartitionsRequest[0]([(small, (100001, None))], 30000, False))
    assert [(t, err) for t, err, _msg in r.topic_errors] == [(small, 37)]
    c.close()
    assert "limit of 100000" in broker.log_text()


@pytest.mark.skipif(TARGET != "samsa", reason="Kafka sets no limit: it builds every answer")
def test_describe_configs_of_many_brokers_is_bounded(broker, bystander):
    """DescribeConfigs naming the broker 20000 times with documentation
    (a 200 KB request whose full answer would be gigabytes): the answer is
    bounded, the resources past the bound are refused, and the broker's
    memory stays put."""
    from kproto import describe_configs_v3
    from test_hostile import rss_mb
    before = rss_mb(broker)
    c = Conn(broker.port)
    results = describe_configs_v3(c, [(4, str(broker.id))] * 20000)
    c.close()
    answered = [r for r in results if r[0] == 0]
    refused = [r for r in results if r[0] == 42]
    assert len(answered) + len(refused) == 20000
    assert answered and refused
    assert all(len(cfg) >= 300 for _, _, cfg in answered)
    assert {msg for _, msg, _ in refused} == {"Too many resources in one DescribeConfigs request"}
    assert rss_mb(broker) - before < 400
    assert "resources refused" in broker.log_text()


@pytest.mark.skipif(TARGET != "samsa", reason="Kafka expands the message however large it gets")
def test_legacy_compressed_bomb_is_refused(broker, bystander):
    """A magic 1 gzip wrapper of 120 KB that expands to 200 MB (Produce v2):
    up-conversion stops at max.message.bytes and answers MESSAGE_TOO_LARGE
    instead of holding the expansion; the broker's memory stays put."""
    from kafka.record.legacy_records import LegacyRecordBatchBuilder
    from test_hostile import rss_mb
    topic = unique("bomb")
    make_topic(broker, topic)
    b = LegacyRecordBatchBuilder(magic=1, compression_type=1, batch_size=1 << 30)
    for i in range(200):
        b.append(i, timestamp=1700000000000, key=None, value=b"\0" * (1 << 20))
    records = bytes(b.build())
    assert len(records) < 1 << 20
    before = rss_mb(broker)
    c = Conn(broker.port)
    body = struct.pack(">hi", 1, 30000) + struct.pack(">i", 1) + kstr(topic)
    body += struct.pack(">ii", 1, 0) + struct.pack(">i", len(records)) + records
    r = c.request(0, 2, body)
    c.close()
    (nt,) = struct.unpack_from(">i", r, 0)
    (tl,) = struct.unpack_from(">h", r, 4)
    part, err = struct.unpack_from(">ih", r, 6 + tl + 4)
    assert (nt, part, err) == (1, 0, 10)    # MESSAGE_TOO_LARGE
    assert rss_mb(broker) - before < 64
