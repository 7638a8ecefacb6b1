"""Consumer groups with real clients: confluent-kafka (librdkafka),
kafka-python and the Java kafka-clients, alone and mixed, through
rebalances, failures, static membership and broker restarts."""
import os
import subprocess
import sys
import threading
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import is_samsa, unique, wait_for
from servers import stop_process
from test_clients import create_topic

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS = ["confluent", "kafka-python", "java"]


class Worker:
    """One group consumer process and what it reported."""

    def __init__(self, client, bootstrap, topic, group, java_client, assignor="range",
                 instance="-", session_ms=6000):
        if client == "java":
            cmd = java_client + ["group", bootstrap, topic, group, assignor, instance, str(session_ms)]
        else:
            cmd = [sys.executable, os.path.join(HERE, "group_worker.py"), client, bootstrap, topic, group,
                   "--assignor", assignor, "--instance", instance, "--session-ms", str(session_ms)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.records = {}          # key -> (partition, offset)
        self.events = []           # ("ASSIGNED"|"REVOKED", {partitions})
        self.assigned = set()
        self.closed = False
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            parts = line.split()
            if not parts:
                continue
            with self.lock:
                if parts[0] == "REC":
                    self.records[parts[3]] = (int(parts[1]), int(parts[2]))
                elif parts[0] in ("ASSIGNED", "REVOKED"):
                    ps = {int(p) for p in parts[1].split(",")} if len(parts) > 1 else set()
                    self.events.append((parts[0], ps))
                    if parts[0] == "ASSIGNED":
                        self.assigned |= ps
                    else:
                        self.assigned -= ps
                elif parts[0] == "CLOSED":
                    self.closed = True

    def stop(self):
        stop_process(self.proc)
        self.reader.join(10)

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.reader.join(10)


@pytest.fixture
def workers():
    started = []
    yield started
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait()


def produce_keys(bootstrap, topic, keys):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for k in keys:
        while True:
            try:
                p.produce(topic, key=k, value=k)
                break
            except BufferError:
                p.poll(0.05)
    assert p.flush(60) == 0


def consumed(ws):
    keys = set()
    for w in ws:
        with w.lock:
            keys |= set(w.records)
    return keys


def stable_cover(ws, partitions):
    """Every partition owned by exactly one live worker."""
    owned = []
    for w in ws:
        with w.lock:
            owned += list(w.assigned)
    return sorted(owned) == list(range(partitions))


@pytest.mark.parametrize("client", CLIENTS)
def test_three_consumers_share_partitions_and_survive_failure(broker, java_client, workers, client):
    topic, group = unique(f"grp-{client}"), unique("g")
    create_topic(broker.bootstrap, topic, 6)
    keys = [f"k{i}" for i in range(60000)]
    produce_keys(broker.bootstrap, topic, keys)
    ws = [Worker(client, broker.bootstrap, topic, group, java_client) for _ in range(3)]
    workers.extend(ws)
    wait_for(lambda: consumed(ws) >= set(keys), 180, "all 60k messages consumed by the group")
    wait_for(lambda: stable_cover(ws, 6) and all(len(w.assigned) == 2 for w in ws), 120,
             "6 partitions spread 2/2/2 over 3 consumers")
    # kill -9 one consumer: after its session timeout the others take over.
    ws[0].kill9()
    wait_for(lambda: stable_cover(ws[1:], 6), 120, "the survivors to own all 6 partitions")
    more = [f"m{i}" for i in range(3000)]
    produce_keys(broker.bootstrap, topic, more)
    wait_for(lambda: consumed(ws[1:]) >= set(more), 120, "new messages consumed by the survivors")
    # A clean leave rebalances at once (no session timeout to wait for).
    ws[1].stop()
    assert ws[1].closed
    wait_for(lambda: stable_cover(ws[2:], 6), 120, "the last consumer to own everything")
    if is_samsa(broker):
        assert "through explicit LeaveGroup request" in broker.log_text()
    ws[2].stop()


@pytest.mark.parametrize("client", ["confluent", "java"])
def test_cooperative_sticky_keeps_unaffected_partitions(broker, java_client, workers, client):
    topic, group = unique("coop"), unique("g")
    create_topic(broker.bootstrap, topic, 6)
    assignor = "cooperative-sticky"
    a = Worker(client, broker.bootstrap, topic, group, java_client, assignor=assignor)
    b = Worker(client, broker.bootstrap, topic, group, java_client, assignor=assignor)
    workers.extend([a, b])
    wait_for(lambda: stable_cover([a, b], 6) and len(a.assigned) == 3, 120, "2 consumers, 3 each")
    before = {id(w): set(w.assigned) for w in (a, b)}
    n_events = {id(w): len(w.events) for w in (a, b)}
    c = Worker(client, broker.bootstrap, topic, group, java_client, assignor=assignor)
    workers.append(c)
    wait_for(lambda: stable_cover([a, b, c], 6) and len(c.assigned) == 2, 120, "3 consumers, 2 each")
    for w in (a, b):
        revoked = set()
        for kind, ps in w.events[n_events[id(w)]:]:
            if kind == "REVOKED":
                revoked |= ps
        kept = before[id(w)] - revoked
        # Incremental: only what moved to the newcomer was revoked.
        assert revoked <= c.assigned, (revoked, c.assigned)
        assert kept == w.assigned & before[id(w)] and len(kept) >= 2
    for w in (a, b, c):
        w.stop()


@pytest.mark.parametrize("client", ["confluent", "java"])
def test_static_member_restart_without_rebalance(broker, java_client, workers, client):
    topic, group = unique("static"), unique("g")
    create_topic(broker.bootstrap, topic, 4)
    a = Worker(client, broker.bootstrap, topic, group, java_client, instance="inst-a", session_ms=30000)
    b = Worker(client, broker.bootstrap, topic, group, java_client, instance="inst-b", session_ms=30000)
    workers.extend([a, b])
    wait_for(lambda: stable_cover([a, b], 4) and len(a.assigned) == 2, 120, "2 static members")
    owned_b = set(b.assigned)
    b_events = len(b.events)
    # A static member that stops does not leave; back within the session
    # timeout under the same instance id, nobody else rebalances.
    a.kill9()
    a2 = Worker(client, broker.bootstrap, topic, group, java_client, instance="inst-a", session_ms=30000)
    workers.append(a2)
    wait_for(lambda: len(a2.assigned) == 2, 120, "the restarted member gets its partitions back")
    assert a2.assigned | owned_b == set(range(4))
    assert not [e for e in b.events[b_events:] if e[0] == "REVOKED" and e[1]], \
        "the other member kept its partitions"
    assert b.assigned == owned_b
    a2.stop()
    b.stop()


def test_mixed_librdkafka_and_java_group(broker, java_client, workers):
    topic, group = unique("mixed"), unique("g")
    create_topic(broker.bootstrap, topic, 6)
    keys = [f"k{i}" for i in range(20000)]
    produce_keys(broker.bootstrap, topic, keys)
    ws = [Worker("confluent", broker.bootstrap, topic, group, java_client),
          Worker("java", broker.bootstrap, topic, group, java_client)]
    workers.extend(ws)
    wait_for(lambda: consumed(ws) >= set(keys), 180, "the mixed group to consume everything")
    wait_for(lambda: stable_cover(ws, 6) and all(w.assigned for w in ws), 120, "both own partitions")
    for w in ws:
        w.stop()


def committed(bootstrap, group, topic, partitions):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    got = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=30)
    c.close()
    return {tp.partition: tp.offset for tp in got}


def test_committed_offsets_survive_broker_kill9(make_broker, java_client, workers, zk_client):
    b = make_broker().start()
    topic, group = unique("durable"), unique("g")
    create_topic(b.bootstrap, topic, 3)
    keys = [f"k{i}" for i in range(3000)]
    produce_keys(b.bootstrap, topic, keys)
    w = Worker("confluent", b.bootstrap, topic, group, java_client)
    workers.append(w)
    wait_for(lambda: consumed([w]) >= set(keys), 120, "consumption")
    w.stop()
    before = committed(b.bootstrap, group, topic, 3)
    assert sum(before.values()) == 3000
    b.kill9()
    if not is_samsa(b):
        wait_for(lambda: not zk_client.exists(f"{b.chroot}/brokers/ids/0"), 60, "session expiry")
    b.start()
    assert committed(b.bootstrap, group, topic, 3) == before
    # A new member resumes after the committed offsets: nothing is re-read.
    more = [f"n{i}" for i in range(100)]
    produce_keys(b.bootstrap, topic, more)
    w2 = Worker("confluent", b.bootstrap, topic, group, java_client)
    workers.append(w2)
    wait_for(lambda: consumed([w2]) >= set(more), 120, "the new messages")
    time.sleep(1)
    assert consumed([w2]) == set(more)
    w2.stop()
    assert b.stop() == 0


def groups_tool(bootstrap, *args):
    from conftest import tool
    return subprocess.run([tool("samsa-consumer-groups"), "--bootstrap-server", bootstrap, *args],
                          capture_output=True, text=True, timeout=60)


def reset_rows(out):
    """--reset-offsets' rows: Kafka 3.9 prints them without line breaks,
    four columns each after the header."""
    words = out.split()
    assert words[:4] == ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"], out
    return [words[i:i + 4] for i in range(4, len(words), 4)]


def test_consumer_groups_tool(broker, java_client, workers):
    topic, group = unique("cgt"), unique("g")
    create_topic(broker.bootstrap, topic, 2)
    keys = [f"k{i}" for i in range(200)]
    produce_keys(broker.bootstrap, topic, keys)
    w = Worker("confluent", broker.bootstrap, topic, group, java_client)
    workers.append(w)
    wait_for(lambda: consumed([w]) >= set(keys), 120, "consumption")
    assert group in groups_tool(broker.bootstrap, "--list").stdout.split("\n")
    r = groups_tool(broker.bootstrap, "--describe", "--group", group)
    lines = [l for l in r.stdout.split("\n") if l]
    assert lines[0].split() == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                                "CONSUMER-ID", "HOST", "CLIENT-ID"]
    rows = [l.split() for l in lines[1:]]
    assert sorted(int(x[2]) for x in rows) == [0, 1]
    assert sum(int(x[3]) for x in rows) == 200 and all(x[5] == "0" for x in rows)
    assert all(x[7] == "/127.0.0.1" for x in rows)
    r = groups_tool(broker.bootstrap, "--describe", "--group", group, "--members", "--verbose")
    head, row = [l for l in r.stdout.split("\n") if l]
    assert head.split() == ["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "ASSIGNMENT"]
    assert row.split()[0] == group and row.split()[2] == "/127.0.0.1"
    assert row.split()[-2:] == ["2", "(0,1)"]         # Kafka 3.9 leaves the topic out
    r = groups_tool(broker.bootstrap, "--describe", "--group", group, "--state")
    head, row = [l for l in r.stdout.split("\n") if l]
    assert head.split()[:3] == ["GROUP", "COORDINATOR", "(ID)"]
    assert row.split()[-2:] == ["Stable", "1"]
    # An active group cannot be reset.
    r = groups_tool(broker.bootstrap, "--reset-offsets", "--group", group, "--all-topics", "--to-earliest",
                    "--execute")
    assert r.returncode == 1 and "inactive" in r.stderr
    w.stop()
    wait_for(lambda: "has no active members" in groups_tool(broker.bootstrap, "--describe", "--group",
                                                             group).stderr, 60, "the group to empty")
    # Dry run changes nothing; --execute moves the group where the tool says.
    r = groups_tool(broker.bootstrap, "--reset-offsets", "--group", group, "--topic", f"{topic}:0",
                    "--to-offset", "10", "--dry-run")
    assert reset_rows(r.stdout) == [[group, topic, "0", "10"]]
    r = groups_tool(broker.bootstrap, "--reset-offsets", "--group", group, "--topic", topic, "--shift-by",
                    "-5", "--execute")
    new = {int(row[2]): int(row[3]) for row in reset_rows(r.stdout)}
    assert r.returncode == 0 and len(new) == 2
    # The next consumer of the group starts exactly there: it re-reads 5 per partition.
    w2 = Worker("confluent", broker.bootstrap, topic, group, java_client)
    workers.append(w2)
    wait_for(lambda: len(consumed([w2])) == 10, 120, "the re-read records")
    time.sleep(1)
    assert len(consumed([w2])) == 10
    assert {p: min(o for (pp, o) in w2.records.values() if pp == p) for p in (0, 1)} == new
    w2.stop()
    wait_for(lambda: "has no active members" in groups_tool(broker.bootstrap, "--describe", "--group",
                                                             group).stderr, 60, "the group to empty")
    r = groups_tool(broker.bootstrap, "--delete-offsets", "--group", group, "--topic", f"{topic}:1")
    assert r.returncode == 0 and "Successful" in r.stdout
    r = groups_tool(broker.bootstrap, "--delete", "--group", group)
    assert r.stdout == f"Deletion of requested consumer groups ('{group}') was successful.\n"
    r = groups_tool(broker.bootstrap, "--describe", "--group", group)
    assert r.returncode == 1 and f"Consumer group '{group}' does not exist." in r.stderr


def test_offsets_expire_and_metadata_survives_restart(make_broker, zk_client):
    """Committed metadata comes back whole (a NUL inside is data), before
    and after a restart; offsets of an empty group expire after
    offsets.retention.minutes."""
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KTP
    from kafka.structs import OffsetAndMetadata
    b = make_broker(props={"offsets.retention.minutes": "1",
                           "offsets.retention.check.interval.ms": "1000"}).start()
    topic, group = unique("exp"), unique("g")
    create_topic(b.bootstrap, topic, 1)
    produce_keys(b.bootstrap, topic, ["a", "b", "c"])
    c = KafkaConsumer(bootstrap_servers=b.bootstrap, group_id=group, enable_auto_commit=False)
    tp = KTP(topic, 0)
    c.commit({tp: OffsetAndMetadata(2, "checkpoint\x00-7", -1)})
    got = c.committed(tp, metadata=True)
    assert (got.offset, got.metadata) == (2, "checkpoint\x00-7")
    c.close()
    b.stop()
    b.start()
    c = KafkaConsumer(bootstrap_servers=b.bootstrap, group_id=group, enable_auto_commit=False)
    got = c.committed(tp, metadata=True)
    assert (got.offset, got.metadata) == (2, "checkpoint\x00-7")
    c.close()
    # One minute after the group emptied, the offsets are gone.
    def expired():
        k = KafkaConsumer(bootstrap_servers=b.bootstrap, group_id=group, enable_auto_commit=False)
        try:
            return k.committed(tp) is None
        finally:
            k.close()
    wait_for(expired, 150, "offset expiry")
    assert b.stop() == 0


def offsets_log_bytes(b):
    total = 0
    for d in os.listdir(b.logdir):
        if d.startswith("__consumer_offsets-"):
            for f in os.listdir(os.path.join(b.logdir, d)):
                if f.endswith(".log"):
                    total += os.path.getsize(os.path.join(b.logdir, d, f))
    return total


def test_consumer_offsets_is_compacted(make_broker):
    b = make_broker(props={"offsets.topic.segment.bytes": "20000", "log.cleaner.backoff.ms": "500"}).start()
    topic, group = unique("cmp"), unique("g")
    create_topic(b.bootstrap, topic, 1)
    produce_keys(b.bootstrap, topic, ["x"])
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": group, "enable.auto.commit": False})
    for i in range(1, 2001):
        c.commit(offsets=[TopicPartition(topic, 0, i)], asynchronous=False)
    c.close()
    # 2000 commit records of ~100 bytes each, compacted down to far less.
    wait_for(lambda: offsets_log_bytes(b) < 60000 and
             (not is_samsa(b) or "Cleaned __consumer_offsets-" in b.log_text()),
             120, "compaction of __consumer_offsets")
    b.stop()
    b.start()
    assert committed(b.bootstrap, group, topic, 1) == {0: 2000}
    assert b.stop() == 0


def test_lone_member_that_changes_subscription_is_not_stalled(broker):
    """A group's only member rejoins with new metadata: the rebalance
    completes at once (all members have joined), not after the rebalance
    timeout (max.poll.interval.ms, 300 s by default)."""
    a, b = unique("subA"), unique("subB")
    create_topic(broker.bootstrap, a, 1)
    create_topic(broker.bootstrap, b, 1)
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("g-resub"),
                  "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
    try:
        c.subscribe([a])
        wait_for(lambda: (c.poll(0.1), {tp.topic for tp in c.assignment()} == {a})[1], 30,
                 "first assignment")
        t0 = time.time()
        c.subscribe([a, b])
        wait_for(lambda: (c.poll(0.1), {tp.topic for tp in c.assignment()} == {a, b})[1], 60,
                 "assignment of the new subscription")
        took = time.time() - t0
    finally:
        c.close()
    # Kafka answers within a heartbeat or two; the stall was the whole
    # rebalance timeout.
    assert took < 15, f"re-subscription took {took:.1f} s"


def test_lone_java_consumer_that_changes_subscription_is_not_stalled(broker, java_client):
    """The same with Apache Kafka's Java consumer (max.poll.interval.ms, the
    rebalance timeout, is 300 s by default)."""
    a, b = unique("jsubA"), unique("jsubB")
    create_topic(broker.bootstrap, a, 1)
    create_topic(broker.bootstrap, b, 1)
    out = subprocess.run(java_client + ["resubscribe", broker.bootstrap, a, b, unique("g-jresub")],
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    took_ms = int(out.stdout.split("RESUBSCRIBED ")[1].split()[0])
    assert took_ms < 15000, f"re-subscription took {took_ms} ms"
