"""Client quotas as Kafka stores them in ZooKeeper (/config/users,
/config/users/<u>/clients, /config/clients, /config/ips): set, changed and
described with Kafka 3.9.1's kafka-configs (AlterClientQuotas /
DescribeClientQuotas) and confluent-kafka's admin client, and written by
Kafka 2.8's kafka-configs --zookeeper.  Every answer is compared exactly;
the suite runs against Kafka with SAMSA_TEST_TARGET=kafka."""
import struct

from conftest import unique, wait_for
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


def produce_one_by_one(b, topic, n, size):
    """n records of size bytes, one batch each."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 0})
    for i in range(n):
        p.produce(topic, b"%05d" % i + b"x" * (size - 5), partition=0)
        assert p.flush(30) == 0


def batches(records):
    """Base offsets of the record batches in a fetch answer's records."""
    import struct
    out, at = [], 0
    while at + 12 <= len(records):
        base, length = struct.unpack_from(">qi", records, at)
        if at + 12 + length > len(records):
            break       # a partial batch at the end of the answer
        out.append(base)
        at += 12 + length
    return out


def new_topic(b, name):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(name, 1, 1)])[name].result(30)


def wait_quotas_applied(b, topic):
    """Quota notifications are applied in order: once a consumer_byte_rate
    of 1 set after the others throttles a probe client's fetch, the earlier
    ones are in force too."""
    import struct
    from conftest import wait_for
    from kproto import Conn, fetch_v4
    probe = unique("quota-probe")
    configs(b, "--alter", "--add-config", "consumer_byte_rate=1", "--entity-type", "clients",
            "--entity-name", probe)

    def capped():
        c = Conn(b.port, client_id=probe)
        try:
            body = c.request(1, 4, fetch_v4(topic, 0, 0, 0, 1, max_bytes=1 << 20))
        finally:
            c.close()
        return struct.unpack_from(">i", body, 0)[0] > 0     # throttled: the quota is in force
    wait_for(capped, 60, "the quotas to reach the broker")


def test_consumer_byte_rate_caps_and_then_throttles_fetches(broker):
    """consumer_byte_rate=10240 (Kafka's ClientQuotaManager): a fetch asking
    for 1 MB gets at most what the quota lets through in one window
    (10 x 10240 bytes: ten 10 KB batches), the next one past the quota is
    answered empty with the time to back off, and another client-id is
    served in full.  Compared exactly, against Kafka too."""
    import struct
    from kproto import Conn, fetch_v4, parse_fetch_v4_records_len
    topic, slow = unique("cquota"), unique("slow-consumer")
    new_topic(broker, topic)
    produce_one_by_one(broker, topic, 15, 10000)
    configs(broker, "--alter", "--add-config", "consumer_byte_rate=10240", "--entity-type",
            "clients", "--entity-name", slow)
    import time
    wait_quotas_applied(broker, topic)
    c = Conn(broker.port, client_id=slow)
    # A first, empty fetch starts the client's quota window, so that the
    # capped one 1.5 s later is measured over 11.5 s and stays within the
    # quota (Kafka's answer is the cap plus headers, and may end with a
    # partial batch, which clients drop).
    body = c.request(1, 4, fetch_v4(topic, 0, 15, 0, 1, max_bytes=1 << 20))
    assert struct.unpack_from(">i", body, 0)[0] == 0
    assert parse_fetch_v4_records_len(body) == (0, 15, b"")
    time.sleep(1.5)
    body = c.request(1, 4, fetch_v4(topic, 0, 0, 100, 1, max_bytes=1 << 20))
    assert struct.unpack_from(">i", body, 0)[0] == 0
    err, hw, records = parse_fetch_v4_records_len(body)
    assert (err, hw, batches(records)) == (0, 15, list(range(10)))
    assert len(records) <= 102400
    body = c.request(1, 4, fetch_v4(topic, 0, 10, 100, 1, max_bytes=1 << 20))
    throttle, ntopics = struct.unpack_from(">ii", body, 0)
    assert throttle > 0 and ntopics == 0, (throttle, ntopics, len(body))
    c.close()
    other = Conn(broker.port, client_id=unique("free-consumer"))
    body = other.request(1, 4, fetch_v4(topic, 0, 0, 100, 1, max_bytes=1 << 20))
    assert struct.unpack_from(">i", body, 0)[0] == 0
    err, hw, records = parse_fetch_v4_records_len(body)
    assert (err, hw, batches(records)) == (0, 15, list(range(15)))
    other.close()


def test_throttled_consumer_still_reads_every_record(broker):
    """A confluent-kafka consumer over its consumer_byte_rate is told to
    back off (throttle_cb) and still reads every record, in order."""
    from confluent_kafka import Consumer
    topic, slow = unique("cquota-all"), unique("slow-reader")
    new_topic(broker, topic)
    produce_one_by_one(broker, topic, 30, 10000)
    configs(broker, "--alter", "--add-config", "consumer_byte_rate=20480", "--entity-type",
            "clients", "--entity-name", slow)
    import time
    wait_quotas_applied(broker, topic)
    seen = []
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("g"),
                  "client.id": slow, "auto.offset.reset": "earliest",
                  "throttle_cb": lambda ev: seen.append(ev.throttle_time)})
    c.subscribe([topic])
    got, deadline = [], time.time() + 60
    while len(got) < 30 and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(int(m.value()[:5]))
    c.close()
    assert got == list(range(30))
    assert any(t > 0 for t in seen), seen


def test_request_percentage_throttles_with_a_full_answer(broker):
    """request_percentage=0.01 (0.01% of a thread: 1 ms of handling in the
    10 s window): a client-id sending Metadata requests is soon answered
    with a throttle time, and the throttled answer is still complete (the
    same brokers and topic); another client-id is not throttled."""
    import struct
    from kproto import Conn, metadata_v4
    topic, busy = unique("rquota"), unique("busy")
    new_topic(broker, topic)
    configs(broker, "--alter", "--add-config", "request_percentage=0.01", "--entity-type",
            "clients", "--entity-name", busy)
    import time
    c = Conn(broker.port, client_id=busy)
    free = Conn(broker.port, client_id=unique("idle"))
    reference = free.request(3, 4, metadata_v4([topic], False))
    throttle, answer = 0, b""
    deadline = time.time() + 60     # the quota arrives through its notification
    while time.time() < deadline:
        answer = c.request(3, 4, metadata_v4([topic], False))
        throttle = struct.unpack_from(">i", answer, 0)[0]
        if throttle > 0:
            break
    assert 0 < throttle <= 1000, throttle     # Kafka bounds it by one window
    assert answer[4:] == reference[4:]
    again = free.request(3, 4, metadata_v4([topic], False))
    assert struct.unpack_from(">i", again, 0)[0] == 0 and again[4:] == reference[4:]
    c.close()
    free.close()


def samsa_configs(b, *args, check=True):
    import subprocess
    from conftest import tool
    r = subprocess.run([tool("samsa-configs"), "--bootstrap-server", b.bootstrap, *args],
                       capture_output=True, text=True, timeout=60)
    assert not check or r.returncode == 0, r.stderr
    return r


def test_samsa_configs_alters_and_describes_quotas_as_kafka_configs(make_broker):
    """samsa-configs for users and clients: the same alterations as Kafka
    3.9.1's kafka-configs, and the same describe output line for line (its
    HashMap order and Java's number format included).  A broker of its own:
    a cluster-wide client default must not throttle other tests."""
    broker = make_broker().start()
    user, client = unique("sq"), unique("sc")
    u, c = ["--entity-type", "users", "--entity-name", user], \
        ["--entity-type", "clients", "--entity-name", client]
    steps = [(u, "producer_byte_rate=1024,consumer_byte_rate=2048,request_percentage=12.5",
              f"Completed updating config for user {user}."),
             (u + c, "producer_byte_rate=10485760", f"Completed updating config for user {user}."),
             (c, "controller_mutation_rate=10", f"Completed updating config for client {client}."),
             (["--entity-type", "clients", "--entity-default"], "request_percentage=0.0005",
              "Completed updating default config for clients in the cluster.")]
    for entity, spec, done in steps:
        assert samsa_configs(broker, "--alter", "--add-config", spec, *entity).stdout == done + "\n"
    describes = [u, u + c, c, ["--entity-type", "clients"], ["--entity-type", "users"],
                 ["--entity-type", "clients", "--entity-default"],
                 ["--entity-type", "users", "--entity-type", "clients"]]
    for entity in describes:
        ours = samsa_configs(broker, "--describe", *entity).stdout
        theirs = configs(broker, "--describe", *entity)
        assert ours.splitlines() == [line for line in theirs.splitlines()
                                     if line.startswith(("Quota", "SCRAM"))], entity
    # Deleting a key the entity lacks is refused; deleting one it has works.
    r = samsa_configs(broker, "--alter", "--delete-config", "no_such_rate", *c, check=False)
    assert r.returncode == 1 and "Only quota configs can be deleted for 'clients'" in r.stderr
    r = samsa_configs(broker, "--alter", "--delete-config", "producer_byte_rate", *c, check=False)
    assert r.returncode == 1 and "Invalid config(s): producer_byte_rate" in r.stderr
    samsa_configs(broker, "--alter", "--delete-config", "controller_mutation_rate", *c)
    assert configs(broker, "--describe", *c).strip() == ""
    samsa_configs(broker, "--alter", "--delete-config", "request_percentage", "--entity-type",
                  "clients", "--entity-default")


# ---- controller_mutation_rate (KIP-599) ----

THROTTLED = 89


def create_topics_v6(conn, topics):
    """topics: [(name, partitions)]; returns (throttle_ms, [(name, error, message)])."""
    from kproto import compact_str, read_compact_str, read_uvarint, uvarint
    body = uvarint(len(topics) + 1)
    for name, n in topics:
        body += compact_str(name) + struct.pack(">ih", n, 1) + uvarint(1) + uvarint(1) + b"\x00"
    r = conn.flexible_request(19, 6, body + struct.pack(">i", 60000) + b"\x00\x00")
    throttle = struct.unpack(">i", r[:4])[0]
    n, at = read_uvarint(r, 4)
    out = []
    for _ in range(n - 1):
        name, at = read_compact_str(r, at)
        err = struct.unpack(">h", r[at:at + 2])[0]
        msg, at = read_compact_str(r, at + 2)
        at += 6                                     # partitions, replication factor
        configs, at = read_uvarint(r, at)
        for _ in range(max(configs - 1, 0)):        # name, value, read-only, source, sensitive
            _, at = read_compact_str(r, at)
            _, at = read_compact_str(r, at)
            at += 3 + 1                               # flags, tagged fields
        tags, at = read_uvarint(r, at)
        for _ in range(tags):                         # a tagged topic_config_error_code
            _, at = read_uvarint(r, at)
            size, at = read_uvarint(r, at)
            at += size
        out.append((name, err, msg))
    return throttle, out


def delete_topics(conn, version, names):
    """DeleteTopics v4 or v5; (throttle_ms, [(name, error)])."""
    from kproto import compact_str, read_compact_str, read_uvarint, uvarint
    body = uvarint(len(names) + 1) + b"".join(compact_str(n) for n in names)
    r = conn.flexible_request(20, version, body + struct.pack(">i", 30000) + b"\x00")
    n, at = read_uvarint(r, 4)
    out = []
    for _ in range(n - 1):
        name, at = read_compact_str(r, at)
        err = struct.unpack(">h", r[at:at + 2])[0]
        at += 2
        if version >= 5:
            _, at = read_compact_str(r, at)
        at += 1
        out.append((name, err))
    return struct.unpack(">i", r[:4])[0], out


def create_partitions_v3(conn, name, count):
    """(throttle_ms, error, message) of growing name to count partitions."""
    from kproto import compact_str, read_compact_str, read_uvarint, uvarint
    body = uvarint(2) + compact_str(name) + struct.pack(">i", count) + uvarint(0) + b"\x00"
    r = conn.flexible_request(37, 3, body + struct.pack(">i", 30000) + b"\x00\x00")
    _, at = read_uvarint(r, 4)
    _, at = read_compact_str(r, at)
    err = struct.unpack(">h", r[at:at + 2])[0]
    msg, _ = read_compact_str(r, at + 2)
    return struct.unpack(">i", r[:4])[0], err, msg


def test_controller_mutation_rate_refuses_and_throttles_as_kafka(broker):
    """controller_mutation_rate=1 for a client-id: its token bucket holds 11
    partitions (quota.window.num x 1 s).  A strict CreateTopics (v6) takes a
    20-partition topic while the bucket is not below zero, then refuses the
    next topic with THROTTLING_QUOTA_EXCEEDED (no message: Kafka's ApiError
    drops the default one) and a throttle time of about the 9 s it takes to
    refill; a strict DeleteTopics (v5) and CreatePartitions
    (v3) are refused meanwhile; a permissive DeleteTopics (v4) goes ahead
    and only throttles."""
    from kproto import Conn
    client = unique("mutating")
    out = configs(broker, "--alter", "--add-config", "controller_mutation_rate=1",
                  "--entity-type", "clients", "--entity-name", client)
    assert out.startswith("Completed updating config for "), out
    first = {}

    def refused_once():
        # One topic per request: Kafka charges a request's topics in its
        # hash map's order, not the request's.
        big, small = unique("big"), unique("small")
        for name, n in [(big, 20), (small, 1)]:
            conn = Conn(broker.port, client_id=client)
            try:
                throttle, results = create_topics_v6(conn, [(name, n)])
            finally:
                conn.close()
        first.update(throttle=throttle, results=results, big=big, small=small)
        return results[0][1] == THROTTLED
    wait_for(refused_once, 60, "the quota to apply")
    assert first["results"] == [(first["small"], THROTTLED, None)]
    assert 4000 < first["throttle"] <= 11000, first["throttle"]
    # A throttled answer mutes its connection (KIP-219): each call gets its own.

    def call(fn, *args):
        conn = Conn(broker.port, client_id=client)
        try:
            return fn(conn, *args)
        finally:
            conn.close()
    throttle, results = call(delete_topics, 5, [first["big"]])
    assert results == [(first["big"], THROTTLED)] and 0 < throttle <= 11000, throttle
    throttle, err, msg = call(create_partitions_v3, first["big"], 21)
    assert (err, msg) == (THROTTLED, None) and 0 < throttle <= 11000, throttle
    # Permissive (before v5): deleted, and throttled for the debt.
    throttle, results = call(delete_topics, 4, [first["big"]])
    assert results == [(first["big"], 0)] and throttle > 9000, throttle


# Six 3-partition topics against an 11-token bucket: four are charged (the
# fourth overdraws it) and two refused.  Which two depends on the order
# Kafka's toCreate map iterates its names (a Scala mutable.HashMap), seen
# against Kafka 3.9.1; samsa charges in the same order.
ORDER_TOPICS = ["orders", "payments", "audit-log", "clicks", "users", "metrics"]
ORDER_REFUSED = ["audit-log", "users"]      # request order would refuse users, metrics


def set_mutation_rates(broker, *clients):
    """controller_mutation_rate=1 for each client-id, in order; returns once
    the last is in force (so the others are too), found by overdrawing it."""
    from kproto import Conn
    for who in clients:
        out = configs(broker, "--alter", "--add-config", "controller_mutation_rate=1",
                      "--entity-type", "clients", "--entity-name", who)
        assert out.startswith("Completed updating config for "), out

    def refused():
        results = None
        for name, n in [(unique("p-big"), 12), (unique("p-small"), 1)]:
            conn = Conn(broker.port, client_id=clients[-1])
            try:
                _, results = create_topics_v6(conn, [(name, n)])
            finally:
                conn.close()
        return results[0][1] == THROTTLED
    wait_for(refused, 60, "the quotas to apply")


def test_mutation_quota_charges_topics_in_kafkas_order(broker):
    from kproto import Conn
    client = unique("ordered")
    set_mutation_rates(broker, client, unique("probe"))
    conn = Conn(broker.port, client_id=client)
    try:
        _, results = create_topics_v6(conn, [(t, 3) for t in ORDER_TOPICS])
    finally:
        conn.close()
    refused = sorted(name for name, err, _ in results if err == THROTTLED)
    assert refused == ORDER_REFUSED
    assert all(err == 0 for name, err, _ in results if name not in refused), results


def test_auto_created_topics_are_charged(broker):
    """Metadata's auto-creation charges the client's bucket (Kafka's
    permissive quota) without throttling the answer: four topics of
    num.partitions=3 overdraw 11 tokens, and the next strict creation is
    refused."""
    from kproto import Conn, metadata_v4, parse_metadata_v4_topic_errors
    client = unique("auto")
    set_mutation_rates(broker, client, unique("probe"))
    names = [unique("auto") for _ in range(4)]
    conn = Conn(broker.port, client_id=client)
    try:
        body = conn.request(3, 4, metadata_v4(names, True))
        assert struct.unpack(">i", body[:4])[0] == 0            # not throttled
        assert parse_metadata_v4_topic_errors(body) == {n: 5 for n in names}  # LEADER_NOT_AVAILABLE
    finally:
        conn.close()
    conn = Conn(broker.port, client_id=client)
    try:
        _, results = create_topics_v6(conn, [(unique("after"), 1)])
    finally:
        conn.close()
    assert results[0][1:] == (THROTTLED, None), results


def test_coordinator_topic_creation_is_charged(make_broker):
    """FindCoordinator creating __consumer_offsets charges its partitions to
    the asking client's bucket without throttling the answer (Kafka's
    newPermissiveQuotaFor): twelve partitions overdraw 11 tokens, and the
    client's next strict creation is refused."""
    from kproto import Conn, kstr
    b = make_broker(props={"offsets.topic.num.partitions": "12",
                           "offsets.topic.replication.factor": "1"}).start()
    try:
        client = unique("finder")
        set_mutation_rates(b, client, unique("probe"))
        conn = Conn(b.port, client_id=client)
        try:
            body = conn.request(10, 1, kstr(unique("group")) + struct.pack(">b", 0))
        finally:
            conn.close()
        throttle, err = struct.unpack_from(">ih", body, 0)
        assert (throttle, err) == (0, 15)           # COORDINATOR_NOT_AVAILABLE, not throttled
        conn = Conn(b.port, client_id=client)
        try:
            _, results = create_topics_v6(conn, [(unique("after"), 1)])
        finally:
            conn.close()
        assert results[0][1:] == (THROTTLED, None), results
    finally:
        b.stop()
