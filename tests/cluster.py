"""A fault harness for multi-broker tests: N brokers (samsa, Apache Kafka, or
a mix) on one ZooKeeper chroot, the roles ZooKeeper records (controller,
leader of a partition), faults (SIGKILL, SIGSTOP/SIGCONT past the session
timeout so ZooKeeper expires the session, SIGTERM) and restarts, and a
checker in the style of Kafka's replication tests and Jepsen: every
acknowledged record is read back at the offset it was acknowledged at with
the same key and value, in order, without duplicates.

Everything started here is stopped by Cluster.stop(), by process id."""
import json
import os
import signal
import struct
import threading
import time
import uuid

from servers import KafkaBroker, SamsaBroker, wait_for


class Cluster:
    def __init__(self, zk, workdir, kinds, props=None, kafka_version=None, broker_props=None):
        """kinds: one "samsa" or "kafka" per broker; broker i gets id i.
        Kafka brokers start first, so with a mix a Kafka broker is the
        first controller.  kafka_version: Kafka's release for its brokers
        (the fixture's default if None).  broker_props(i): properties of
        broker i only (its own ports), over props."""
        self.zk = zk
        self.chroot = "/cluster-" + uuid.uuid4().hex[:8]
        self.brokers = []
        for i, kind in enumerate(kinds):
            d = os.path.join(workdir, f"{kind}-{i}")
            os.makedirs(d, exist_ok=True)
            own = {**(props or {}), **(broker_props(i) if broker_props else {})}
            if kind == "samsa":
                b = SamsaBroker(zk, d, broker_id=i, chroot=self.chroot, props=own)
            else:
                kw = {"version": kafka_version} if kafka_version else {}
                b = KafkaBroker(zk.connect, d, broker_id=i, chroot=self.chroot, props=own, **kw)
            self.brokers.append(b)
        self.zkc = None

    def start(self):
        from kazoo.client import KazooClient
        for b in sorted(self.brokers, key=lambda b: b.kind != "kafka"):
            b.start()
        self.zkc = KazooClient(hosts=self.zk.connect)
        self.zkc.start(30)
        wait_for(lambda: len(self.live_ids()) == len(self.brokers), 60, "every broker registered")
        return self

    def stop(self):
        for b in self.brokers:
            if b.proc and b.proc.poll() is None:
                os.kill(b.proc.pid, signal.SIGCONT)
            b.stop()
        if self.zkc:
            self.zkc.stop()
            self.zkc.close()

    @property
    def bootstrap(self):
        return ",".join(b.bootstrap for b in self.brokers)

    def broker(self, broker_id):
        return self.brokers[broker_id]

    # ---- roles, as ZooKeeper records them ----

    def live_ids(self):
        path = f"{self.chroot}/brokers/ids"
        return sorted(int(i) for i in self.zkc.get_children(path)) if self.zkc.exists(path) else []

    def broker_epoch(self, broker_id):
        st = self.zkc.exists(f"{self.chroot}/brokers/ids/{broker_id}")
        return st.czxid if st else None

    def _get(self, path):
        """A znode's data, or None if it is absent (or goes while read)."""
        from kazoo.exceptions import NoNodeError
        try:
            return self.zkc.get(path)[0]
        except NoNodeError:
            return None

    def controller(self):
        data = self._get(f"{self.chroot}/controller")
        return json.loads(data)["brokerid"] if data else None

    def partition_state(self, topic, partition):
        data = self._get(f"{self.chroot}/brokers/topics/{topic}/partitions/{partition}/state")
        return json.loads(data) if data else None

    def leader(self, topic, partition):
        st = self.partition_state(topic, partition)
        return st["leader"] if st else None

    # ---- faults ----

    def kill9(self, broker_id):
        self.brokers[broker_id].kill9()

    def terminate(self, broker_id):
        return self.brokers[broker_id].stop()

    def restart(self, broker_id):
        b = self.brokers[broker_id]
        if b.proc and b.proc.poll() is None:
            b.stop()
        b.start()
        wait_for(lambda: broker_id in self.live_ids(), 60, f"broker {broker_id} registered again")

    def expire_session(self, broker_id, session_ms=6000):
        """Freezes the broker until ZooKeeper drops its registration, then
        lets it run: it must notice the expiry and register again."""
        b = self.brokers[broker_id]
        before = self.broker_epoch(broker_id)
        os.kill(b.proc.pid, signal.SIGSTOP)
        try:
            wait_for(lambda: broker_id not in self.live_ids(), session_ms / 1000 * 3,
                     f"broker {broker_id}'s session to expire")
        finally:
            os.kill(b.proc.pid, signal.SIGCONT)
        wait_for(lambda: broker_id in self.live_ids(), 60, f"broker {broker_id} registered again")
        after = self.broker_epoch(broker_id)
        assert after != before, "a new registration has a new broker epoch"
        return before, after


class AckedLog:
    """A producer that keeps sending and records what was acknowledged:
    key -> (partition, offset, value).  Run in a thread; stop() flushes."""

    def __init__(self, bootstrap, topic, partitions, idempotent=True, rate=200):
        from confluent_kafka import Producer
        self.p = Producer({"bootstrap.servers": bootstrap, "acks": "all",
                           "enable.idempotence": idempotent, "delivery.timeout.ms": 120000,
                           "linger.ms": 5})
        self.topic = topic
        self.partitions = partitions
        self.rate = rate
        self.acked = {}
        self.failed = []        # delivery reports with an error
        self.refused = []       # produce() calls the client refused at once
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _on_delivery(self, err, m):
        if err is None:
            self.acked[m.key()] = (m.partition(), m.offset(), m.value())
        else:
            self.failed.append((m.key(), err))

    def _run(self):
        while not self._stop.is_set():
            from confluent_kafka import KafkaException
            key = b"k%08d" % self.sent
            try:
                self.p.produce(self.topic, key=key, value=b"v-" + key, partition=self.sent % self.partitions,
                               on_delivery=self._on_delivery)
            except BufferError:
                self.p.poll(0.1)
                continue
            except KafkaException as e:
                self.refused.append((key, e.args[0]))
                time.sleep(0.1)
            self.sent += 1
            self.p.poll(0)
            time.sleep(1.0 / self.rate)

    def start(self):
        self._thread.start()
        return self

    def stop(self, timeout=120):
        self._stop.set()
        self._thread.join()
        remaining = self.p.flush(timeout)
        assert remaining == 0, f"{remaining} records never acknowledged nor failed"


def segment_batches(logdir, topic, partition):
    """[(base_offset, last_offset, bytes)] of every record batch (v2) in
    topic-partition's segment files under logdir, in offset order."""
    out = []
    d = os.path.join(logdir, f"{topic}-{partition}")
    for name in sorted(f for f in os.listdir(d) if f.endswith(".log")):
        data = open(os.path.join(d, name), "rb").read()
        pos = 0
        while pos + 61 <= len(data):
            base, length = struct.unpack_from(">qi", data, pos)
            if length <= 0 or pos + 12 + length > len(data):
                break
            (delta,) = struct.unpack_from(">i", data, pos + 23)
            out.append((base, base + delta, data[pos:pos + 12 + length]))
            pos += 12 + length
    return out


def producer_epochs(logdir, topic, partition):
    """{offset: producer epoch} of every offset in topic-partition's
    segment files under logdir."""
    out = {}
    for base, last, raw in segment_batches(logdir, topic, partition):
        (epoch,) = struct.unpack_from(">h", raw, 51)
        for o in range(base, last + 1):
            out[o] = epoch
    return out


def epoch_bump_resend(cluster, topic, partition, first, second):
    """The two offsets hold batches of different producer epochs: the
    idempotent producer bumped its epoch (KIP-360) and resent a batch whose
    outcome it never heard, which no broker can tell from a new one."""
    for b in cluster.brokers:
        if os.path.isdir(os.path.join(b.logdir, f"{topic}-{partition}")):
            epochs = producer_epochs(b.logdir, topic, partition)
            if first in epochs and second in epochs:
                return epochs[first] != epochs[second]
    return False


def check_acked(bootstrap, topic, partitions, acked, duplicates_allowed=False, timeout=120,
                cluster=None):
    """Reads every partition to its end: each acknowledged record is there
    at its offset with its value and offsets increase; without
    duplicates_allowed (an idempotent producer) no key appears twice, but
    for a resend under a bumped producer epoch (seen in the replicas' logs
    of cluster, when given).  Returns the number of records read, such
    resends not counted."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "check-" + uuid.uuid4().hex[:6],
                  "enable.auto.commit": False, "enable.partition.eof": True})
    ends = {}

    def end_of(p):
        try:
            ends[p] = c.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1]
            return True
        except KafkaException:
            return False
    for p in range(partitions):
        wait_for(lambda: end_of(p), 60, f"end of partition {p}")
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    seen, last, resends = {}, {}, 0
    deadline = time.time() + timeout
    done = set(p for p, end in ends.items() if end == 0)
    while len(done) < partitions and time.time() < deadline:
        for m in c.consume(10000, 1.0):
            if m.error():
                if m.error().code() == -191:    # _PARTITION_EOF
                    if m.offset() >= ends[m.partition()]:
                        done.add(m.partition())
                continue
            assert m.offset() > last.get(m.partition(), -1), "offsets go backwards"
            last[m.partition()] = m.offset()
            if m.key() in seen and not duplicates_allowed:
                (p0, o0, _v0) = seen[m.key()][0]
                if not (cluster and p0 == m.partition() and
                        epoch_bump_resend(cluster, topic, p0, o0, m.offset())):
                    raise AssertionError(f"duplicate {m.key()} at {seen[m.key()][0][:2]} and "
                                         f"{m.offset()}")
                resends += 1
            seen.setdefault(m.key(), []).append((m.partition(), m.offset(), m.value()))
            if m.offset() + 1 >= ends[m.partition()]:
                done.add(m.partition())
    c.close()
    assert len(done) == partitions, "could not read every partition to its end"
    def found(k, v):
        # librdkafka acknowledges an idempotent batch it retried after a
        # leader change without its offset once a later batch succeeds
        # (it was "possibly persisted"): such a record must still be there.
        if v[1] is None:
            return any(s[0] == v[0] and s[2] == v[2] for s in seen.get(k, []))
        return v in seen.get(k, [])
    missing = [k for k, v in acked.items() if not found(k, v)]
    assert not missing, (f"{len(missing)} acknowledged records lost or moved, e.g. {missing[0]}: "
                         f"acked {acked[missing[0]]}, read {seen.get(missing[0])}")
    return sum(len(v) for v in seen.values()) - resends
