"""AlterReplicaLogDirs (samsa, or Kafka with SAMSA_TEST_TARGET=kafka): a
broker with two log dirs moves a partition's log from one to the other
while a producer keeps writing to it, as Kafka's future replicas do.  The
move is asked for with Kafka 3.9.1's kafka-reassign-partitions (log_dirs in
its plan) and followed with its --verify and kafka-log-dirs; afterwards, and
after a restart, every acknowledged record is read back at its offset.
Refusals are compared code by code on raw requests."""
import json
import os
import struct
import subprocess
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import high_watermark, kafka_tools, new_broker, stop_cleanly, unique, wait_for
from kproto import Conn, kstr
from test_clients import create_topic
from test_configs import config_command

REASSIGN = "org.apache.kafka.tools.reassign.ReassignPartitionsCommand"
LOG_DIRS = "org.apache.kafka.tools.LogDirsCommand"


def alter_replica_log_dirs_v1(conn, dirs):
    """dirs: [(path, {topic: [partitions]})] -> {(topic, partition): error}."""
    body = struct.pack(">i", len(dirs))
    for path, topics in dirs:
        body += kstr(path) + struct.pack(">i", len(topics))
        for topic, parts in topics.items():
            body += kstr(topic) + struct.pack(">i", len(parts))
            body += b"".join(struct.pack(">i", p) for p in parts)
    resp = conn.request(34, 1, body)
    pos = 4                                     # throttle_time_ms
    (n_topics,) = struct.unpack_from(">i", resp, pos)
    pos += 4
    out = {}
    for _ in range(n_topics):
        (tl,) = struct.unpack_from(">h", resp, pos)
        topic = resp[pos + 2:pos + 2 + tl].decode()
        pos += 2 + tl
        (n,) = struct.unpack_from(">i", resp, pos)
        pos += 4
        for _ in range(n):
            part, err = struct.unpack_from(">ih", resp, pos)
            pos += 6
            out[(topic, part)] = err
    return out


def describe_log_dirs(broker, topic):
    """{log dir: [(partition, isFuture)]} for topic, from kafka-log-dirs."""
    r = subprocess.run(kafka_tools(LOG_DIRS) + ["--bootstrap-server", broker.bootstrap,
                                                "--describe", "--topic-list", topic],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout.splitlines()[2])
    return {d["logDir"]: sorted((p["partition"], p["isFuture"]) for p in d["partitions"])
            for d in answer["brokers"][0]["logDirs"]}


def read_all(bootstrap, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g"),
                  "enable.auto.commit": False})
    high = high_watermark(c, topic)
    c.assign([TopicPartition(topic, 0, 0)])
    got, deadline = {}, time.time() + 90
    while len(got) < high and time.time() < deadline:
        for m in c.consume(1000, 1.0):
            if not m.error():
                got[m.offset()] = (m.key(), m.value())
    c.close()
    return got


class BackgroundProducer:
    """acks=all writes until stopped; remembers each acknowledged offset."""

    def __init__(self, bootstrap, topic):
        self.p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                           "batch.size": 16384})      # below segment.bytes
        self.topic, self.acked, self.errors, self.sent = topic, {}, [], 0
        self.stopping = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)

    def _done(self, err, m):
        if err:
            self.errors.append(err)
        else:
            self.acked[m.offset()] = (m.key(), m.value())

    def _send(self):
        i = self.sent
        try:
            self.p.produce(self.topic, key=b"k%d" % i, value=b"v%d-" % i + b"x" * 200,
                           partition=0, on_delivery=self._done)
            self.sent += 1
        except BufferError:
            self.p.poll(0.1)

    def fill(self, n):
        """n records as fast as they go, before the thread starts."""
        while self.sent < n:
            self._send()
            self.p.poll(0)
        assert self.p.flush(60) == 0

    def _run(self):
        while not self.stopping.is_set():       # at most 20 records (4.4 KB) a second
            self._send()
            self.p.poll(0)
            time.sleep(0.05)
        self.p.flush(60)

    def start(self):
        self.t.start()
        return self

    def stop(self):
        self.stopping.set()
        self.t.join(120)


class Move:
    """One broker with two log dirs, a topic in one of them, and the
    kafka-reassign-partitions plan that moves it to the other."""

    def __init__(self, zookeeper, tmp_path):
        self.dirs = [os.path.join(str(tmp_path), "dir-a"), os.path.join(str(tmp_path), "dir-b")]
        self.b = new_broker(zookeeper, str(tmp_path),
                            props={"log.dirs": ",".join(self.dirs),
                                   "log.segment.delete.delay.ms": "1000"}).start()
        b, topic = self.b, unique("moving")
        self.topic = topic
        create_topic(b.bootstrap, topic, 1, config={"segment.bytes": "65536"})
        wait_for(lambda: any(os.path.isdir(os.path.join(d, f"{topic}-0")) for d in self.dirs), 30,
                 "the partition's log")
        self.src = next(d for d in self.dirs if os.path.isdir(os.path.join(d, f"{topic}-0")))
        self.dst = next(d for d in self.dirs if d != self.src)
        self.plan = os.path.join(str(tmp_path), "plan.json")
        with open(self.plan, "w") as f:
            json.dump({"version": 1, "partitions": [{"topic": topic, "partition": 0,
                                                      "replicas": [b.id], "log_dirs": [self.dst]}]},
                      f)
        self.replica = f"{topic}-0-{b.id}"

    def reassign(self, *args):
        r = subprocess.run(kafka_tools(REASSIGN) + ["--bootstrap-server", self.b.bootstrap,
                                                    "--reassignment-json-file", self.plan, *args],
                           capture_output=True, text=True, timeout=180)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    def throttle(self, rate):
        """replica.alter.log.dirs.io.max.bytes.per.second for the broker.
        Kafka's rate lets the first ten seconds' worth through at once.  The
        reassign tool sets it too, but after starting the move; set first,
        it is in force (a ZooKeeper notification away) when the move
        starts."""
        config_command("3.9.1", "--bootstrap-server", self.b.bootstrap, "--entity-type", "brokers",
                       "--entity-name", str(self.b.id), "--alter", "--add-config",
                       f"replica.alter.log.dirs.io.max.bytes.per.second={rate}")
        time.sleep(2)

    def start(self, rate):
        out = self.reassign("--execute", "--replica-alter-log-dirs-throttle", str(rate))
        assert (f"Successfully started moving log directory to {self.dst} for replica "
                f"{self.topic}-0 with broker {self.b.id}") in out, out

    def under_way(self):
        return (f"Reassignment of replica {self.replica} is still in progress." in
                self.reassign("--verify") and
                describe_log_dirs(self.b, self.topic) == {self.src: [(f"{self.topic}-0", False)],
                                                          self.dst: [(f"{self.topic}-0", True)]})

    def wait_done(self):
        complete = f"Reassignment of replica {self.replica} completed successfully."
        (out,) = wait_for(lambda: [o for o in [self.reassign("--verify")] if complete in o], 120,
                          "the log dir move to complete")
        assert f"Clearing broker-level throttles on broker {self.b.id}" in out, out
        assert describe_log_dirs(self.b, self.topic) == {self.src: [],
                                                         self.dst: [(f"{self.topic}-0", False)]}
        assert os.path.isdir(os.path.join(self.dst, f"{self.topic}-0"))
        assert not os.path.exists(os.path.join(self.src, f"{self.topic}-0"))
        wait_for(lambda: not [n for n in os.listdir(self.src) if n.startswith(f"{self.topic}-0.")],
                 60, "the old log's directory to be removed")


def test_a_log_moves_between_log_dirs_while_written(zookeeper, tmp_path):
    m = Move(zookeeper, tmp_path)
    b = m.b
    try:
        assert describe_log_dirs(b, m.topic) == {m.src: [(f"{m.topic}-0", False)], m.dst: []}
        bg = BackgroundProducer(b.bootstrap, m.topic)
        bg.fill(3000)                           # about 650 KB in 10 segments
        assert len(bg.acked) == 3000 and not bg.errors, (len(bg.acked), bg.errors[:3])
        bg.start()
        # Copied at most 40 KB/s, the move takes seconds: it is seen under way.
        m.throttle(40000)
        m.start(40000)
        assert m.under_way()
        m.wait_done()
        n_during = len(bg.acked)
        time.sleep(1)
        bg.stop()
        assert not bg.errors, bg.errors[:3]
        assert len(bg.acked) > n_during > 3000
        # Every acknowledged record, at its offset; nothing else.
        assert read_all(b.bootstrap, m.topic) == bg.acked
        # The moved log is the partition's log after a restart.
        assert b.stop() == 0
        b.start()
        assert describe_log_dirs(b, m.topic) == {m.src: [], m.dst: [(f"{m.topic}-0", False)]}
        assert read_all(b.bootstrap, m.topic) == bg.acked
    finally:
        stop_cleanly(b)


def future_copy(m):
    """The future log in the destination: its dir name and .log bytes."""
    names = [n for n in os.listdir(m.dst) if n.startswith(f"{m.topic}-0.") and n.endswith("-future")]
    if len(names) != 1:
        return None
    d = os.path.join(m.dst, names[0])
    return names[0], sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)
                         if f.endswith(".log"))


def test_a_move_a_restart_interrupts_resumes(zookeeper, tmp_path):
    """Stopped while its log is being copied (10 KB/s), the broker takes the
    move up again when it starts, in the same future log and from where its
    copy was, not from the start; with the throttle gone it completes."""
    m = Move(zookeeper, tmp_path)
    b = m.b
    try:
        bg = BackgroundProducer(b.bootstrap, m.topic)
        bg.fill(3000)
        m.throttle(10000)
        m.start(10000)
        assert m.under_way()
        wait_for(lambda: (future_copy(m) or ("", 0))[1] > 20000, 60, "some of the log copied")
        assert b.stop() == 0
        name, copied = future_copy(m)
        b.start()
        wait_for(m.under_way, 60, "the move under way again after the restart")
        again = future_copy(m)
        assert again and again[0] == name and again[1] >= copied, (name, copied, again)
        config_command("3.9.1", "--bootstrap-server", b.bootstrap, "--entity-type", "brokers",
                       "--entity-name", str(b.id), "--alter", "--delete-config",
                       "replica.alter.log.dirs.io.max.bytes.per.second")
        m.wait_done()
        assert read_all(b.bootstrap, m.topic) == bg.acked
    finally:
        stop_cleanly(b)


def test_alter_replica_log_dirs_refusals(zookeeper, tmp_path):
    dirs = [os.path.join(str(tmp_path), "dir-a"), os.path.join(str(tmp_path), "dir-b")]
    b = new_broker(zookeeper, str(tmp_path), props={"log.dirs": ",".join(dirs)}).start()
    try:
        topic = unique("stay")
        create_topic(b.bootstrap, topic, 2)
        wait_for(lambda: sum(os.path.isdir(os.path.join(d, f"{topic}-{p}"))
                             for d in dirs for p in range(2)) == 2, 30, "the partitions' logs")
        here = {p: next(d for d in dirs if os.path.isdir(os.path.join(d, f"{topic}-{p}")))
                for p in range(2)}
        c = Conn(b.port)
        long_name, absent = "t" * 240, unique("absent")
        got = alter_replica_log_dirs_v1(c, [
            (os.path.join(str(tmp_path), "elsewhere"), {topic: [0]}),
            (dirs[0], {absent: [0], long_name: [0]}),
            (here[1], {topic: [1]}),                    # already there: nothing to do
        ])
        c.close()
        assert got == {(topic, 0): 57,                  # LOG_DIR_NOT_FOUND
                       (absent, 0): 3,                  # UNKNOWN_TOPIC_OR_PARTITION
                       (long_name, 0): 17,              # INVALID_TOPIC_EXCEPTION: too long
                       (topic, 1): 0}, got
        # Nothing moved.
        assert all(os.path.isdir(os.path.join(here[p], f"{topic}-{p}")) for p in range(2))
    finally:
        stop_cleanly(b)
