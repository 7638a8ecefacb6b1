"""Fetch sessions (KIP-227), checked request by request against samsa and
Kafka (SAMSA_TEST_TARGET=kafka) with Fetch v7 from kafka-python's protocol
classes: a full fetch opens a session, an incremental fetch answers only
partitions with news (records, a new high watermark), forgotten partitions
stay silent, and unknown sessions or wrong epochs get Kafka's errors.
kafka-python's and the Java consumer's own session handling is exercised by
every other consumer test.  Followers' sessions are watched on the wire
between brokers, on samsa and on Kafka."""

import os
import socket
import struct
import sys
import threading
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka.protocol.fetch import FetchRequest, FetchResponse

from conftest import ROOT, TARGET, unique, wait_for
from kproto import Conn, incremental_alter_configs_v0, read_uvarint
from servers import free_port

sys.path.insert(0, os.path.join(ROOT, "tests"))
from cluster import Cluster  # noqa: E402

V = 7


def fetch(conn, session_id, epoch, parts, forgotten=(), max_wait=100):
    """parts: [(topic, partition, offset)]; returns (error, session, {(t, p): (hw, n_bytes)})."""
    topics = {}
    for t, p, off in parts:
        topics.setdefault(t, []).append((p, off, -1, 1 << 20))
    forgot = {}
    for t, p in forgotten:
        forgot.setdefault(t, []).append(p)
    req = FetchRequest[V](replica_id=-1, max_wait_time=max_wait, min_bytes=1, max_bytes=1 << 20,
                          isolation_level=0, session_id=session_id, session_epoch=epoch,
                          topics=list(topics.items()), forgotten_topics_data=list(forgot.items()))
    body = conn.request(1, V, req.encode())
    resp = FetchResponse[V].decode(body)
    out = {}
    for topic, partitions in resp.topics:
        for pd in partitions:
            p, err, hw = pd[0], pd[1], pd[2]
            out[(topic, p)] = (err, hw, len(pd[-1] or b""))
    return resp.error_code, resp.session_id, out


def produce(bootstrap, topic, partition, n):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(n):
        p.produce(topic, value=b"x" * 10, partition=partition)
    assert p.flush(30) == 0


def test_incremental_fetch_answers_only_news(broker):
    topic = unique("sess")
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(30)
    wait_for(lambda: len(admin.list_topics(topic, timeout=10).topics[topic].partitions) == 2, 30,
             "the topic")
    produce(broker.bootstrap, topic, 0, 5)
    conn = Conn(broker.port)
    try:
        # A full fetch (epoch 0) opens a session and answers every partition.
        err, sid, parts = fetch(conn, 0, 0, [(topic, 0, 5), (topic, 1, 0)])
        assert err == 0 and sid != 0
        assert parts == {(topic, 0): (0, 5, 0), (topic, 1): (0, 0, 0)}
        # Nothing new: an incremental fetch names no partition.
        err, sid2, parts = fetch(conn, sid, 1, [])
        assert (err, sid2, parts) == (0, sid, {})
        # Records on partition 1: only it is answered, from the cached offset.
        produce(broker.bootstrap, topic, 1, 3)
        err, _, parts = fetch(conn, sid, 2, [])
        assert list(parts) == [(topic, 1)] and parts[(topic, 1)][:2] == (0, 3)
        assert parts[(topic, 1)][2] > 0
        # The client moves partition 1 on; partition 0 gets records and a new HW.
        produce(broker.bootstrap, topic, 0, 2)
        err, _, parts = fetch(conn, sid, 3, [(topic, 1, 3)])
        assert list(parts) == [(topic, 0)] and parts[(topic, 0)][:2] == (0, 7)
        # A forgotten partition is not answered any more.
        produce(broker.bootstrap, topic, 0, 1)
        err, _, parts = fetch(conn, sid, 4, [(topic, 0, 7)], forgotten=[(topic, 0)])
        assert (err, parts) == (0, {})
        # A wrong epoch, an unknown session: Kafka's errors, no partitions.
        assert fetch(conn, sid, 9, [])[:3] == (71, 0, {})
        assert fetch(conn, sid ^ 0x5a5a5, 1, [])[:3] == (70, 0, {})
        # The session still works at its epoch; epoch -1 closes it.
        assert fetch(conn, sid, 5, [])[:2] == (0, sid)
        err, sid3, parts = fetch(conn, sid, -1, [(topic, 1, 0)])
        assert err == 0 and sid3 == 0 and parts[(topic, 1)][:2] == (0, 3)
        assert fetch(conn, sid, 6, [])[0] == 70
    finally:
        conn.close()


# ---- followers' side: replica fetchers keep a session with their leader ----

class FetchRecorder:
    """A TCP relay in front of one broker's inter-broker listener that
    records every Fetch (v12+) passing through it: (client id, session id,
    epoch, partition indexes named, number forgotten)."""

    def __init__(self, target_port):
        self.target = target_port
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.fetches = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            try:
                s = socket.create_connection(("127.0.0.1", self.target), timeout=10)
                s.settimeout(None)
            except OSError:
                c.close()
                continue
            threading.Thread(target=self._pump, args=(c, s, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, False), daemon=True).start()

    def _pump(self, src, dst, requests):
        buf = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                if not requests:
                    continue
                buf += data
                while len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">i", buf[:4])[0]:
                    n = struct.unpack(">i", buf[:4])[0]
                    self._record(buf[4:4 + n])
                    buf = buf[4 + n:]
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _record(self, req):
        api_key, version = struct.unpack(">hh", req[:4])
        if api_key != 1:
            return
        assert version >= 12, f"a follower fetch at v{version}"
        n = struct.unpack(">h", req[8:10])[0]
        client_id = req[10:10 + max(n, 0)].decode()
        at = skip_tags(req, 10 + max(n, 0))
        if version < 15:
            at += 4                                     # replica_id
        at += 4 + 4 + 4 + 1                             # waits, bytes, isolation
        session_id, epoch = struct.unpack(">ii", req[at:at + 8])
        at += 8
        named = []
        topics, at = read_uvarint(req, at)
        for _ in range(topics - 1):
            at = skip_topic(req, at, version)
            parts, at = read_uvarint(req, at)
            for _ in range(parts - 1):
                named.append(struct.unpack(">i", req[at:at + 4])[0])
                at = skip_tags(req, at + 32)
            at = skip_tags(req, at)
        forgotten = 0
        topics, at = read_uvarint(req, at)
        for _ in range(topics - 1):
            at = skip_topic(req, at, version)
            parts, at = read_uvarint(req, at)
            forgotten += parts - 1
            at = skip_tags(req, at + 4 * (parts - 1))
        with self.lock:
            self.fetches.append((client_id, session_id, epoch, named, forgotten))

    def take(self):
        with self.lock:
            out, self.fetches = self.fetches, []
        return out

    def close(self):
        self.closed = True
        self.srv.close()


def skip_tags(buf, at):
    n, at = read_uvarint(buf, at)
    for _ in range(n):
        _, at = read_uvarint(buf, at)
        size, at = read_uvarint(buf, at)
        at += size
    return at


def skip_topic(buf, at, version):
    if version >= 13:
        return at + 16                                  # topic id
    n, at = read_uvarint(buf, at)
    return at + n - 1


def relayed_cluster(zookeeper, tmp_path):
    """Three brokers whose inter-broker listener is reached through a
    FetchRecorder each; returns (cluster, relays)."""
    kind = "samsa" if TARGET == "samsa" else "kafka"
    internal = [free_port() for _ in range(3)]
    relays = [FetchRecorder(p) for p in internal]

    def own(i):
        return {"listeners": f"PLAINTEXT://127.0.0.1:{{port}},INTERNAL://127.0.0.1:{internal[i]}",
                "advertised.listeners":
                    f"PLAINTEXT://127.0.0.1:{{port}},INTERNAL://127.0.0.1:{relays[i].port}"}
    props = {"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT",
             "inter.broker.listener.name": "INTERNAL", "replica.lag.time.max.ms": "10000"}
    return Cluster(zookeeper, str(tmp_path), [kind] * 3, props=props, broker_props=own), relays


def create_replicated(c, topic, partitions):
    admin = AdminClient({"bootstrap.servers": c.bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 3)])[topic].result(30)
    md = lambda: admin.list_topics(topic, timeout=10).topics[topic]
    wait_for(lambda: md().error is None and len(md().partitions) == partitions and
             all(len(p.isrs) == 3 for p in md().partitions.values()), 60, "a full ISR")
    return md


def test_followers_fetch_incrementally(zookeeper, tmp_path):
    """Every follower keeps a fetch session with its leader: in steady state
    its fetches are incremental and name no partition; after records land
    on one partition they name only that partition, whose position moved
    (Kafka's FetchSessionHandler, seen on the wire between brokers)."""
    c, relays = relayed_cluster(zookeeper, tmp_path)
    try:
        c.start()
        topic = unique("fsess")
        md = create_replicated(c, topic, 6)
        for p in range(6):
            produce(c.bootstrap, topic, p, 3)
        time.sleep(3)                   # followers catch up, high watermarks settle
        for r in relays:
            r.take()
        time.sleep(3)
        quiet = [f for r in relays for f in r.take()]
        assert len(quiet) >= 6, quiet   # each follower fetches each of its leaders
        for client_id, session_id, epoch, named, forgotten in quiet:
            assert session_id != 0 and epoch >= 1, (client_id, session_id, epoch)
            assert (named, forgotten) == ([], 0), (client_id, named, forgotten)
        leader = md().partitions[0].leader
        produce(c.bootstrap, topic, 0, 5)
        time.sleep(2)
        busy = relays[leader].take()
        moved = {f[0] for f in busy if f[3] == [0]}
        assert len(moved) == 2, busy    # both followers of partition 0 moved on
        assert all(f[3] in ([], [0]) and f[1] != 0 for f in busy), busy
    finally:
        c.stop()
        for r in relays:
            r.close()


def test_num_replica_fetchers_changes_at_runtime(zookeeper, tmp_path):
    """num.replica.fetchers set as a cluster-wide dynamic config: followers
    start a second fetcher per leader (client id broker-<id>-fetcher-1)
    and move the partitions that hash to it there, without a restart; set
    back to 1, the second fetcher threads stop."""
    c, relays = relayed_cluster(zookeeper, tmp_path)
    try:
        c.start()
        topic = unique("nfetch")
        create_replicated(c, topic, 12)
        time.sleep(2)
        ids = lambda: {f[0] for r in relays for f in r.take()}
        assert all(i.endswith("-fetcher-0") for i in ids())
        conn = Conn(c.broker(0).port)
        try:
            assert incremental_alter_configs_v0(
                conn, [(4, "", [("num.replica.fetchers", 0, "2")])]) == [(0, None)]
        finally:
            conn.close()
        seen = set()
        wait_for(lambda: seen.update(ids()) or
                 all(f"broker-{b}-fetcher-1" in seen for b in range(3)), 30,
                 "every broker fetching with a second fetcher")
        produce(c.bootstrap, topic, 0, 3)
        wait_for(lambda: all(len(c.partition_state(topic, p)["isr"]) == 3 for p in range(12)), 30,
                 "a full ISR after the move")
        # Back to one: the second fetchers stop (Kafka's resizeThreadPool
        # shuts idle fetcher threads down), one thread per leader is left.
        conn = Conn(c.broker(0).port)
        try:
            assert incremental_alter_configs_v0(
                conn, [(4, "", [("num.replica.fetchers", 0, "1")])]) == [(0, None)]
        finally:
            conn.close()
        wait_for(lambda: [fetcher_threads(b) for b in c.brokers] == [2, 2, 2], 30,
                 "one fetcher thread per leader")
        produce(c.bootstrap, topic, 1, 3)
        wait_for(lambda: all(len(c.partition_state(topic, p)["isr"]) == 3 for p in range(12)), 30,
                 "a full ISR after moving back")
    finally:
        c.stop()
        for r in relays:
            r.close()


def fetcher_threads(broker):
    """The broker's replica fetcher threads, by their names (samsa's, or
    the JVM's ReplicaFetcherThread-<id>-<leader> cut to 15 characters)."""
    task = f"/proc/{broker.proc.pid}/task"
    n = 0
    for t in os.listdir(task):
        try:
            with open(f"{task}/{t}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue                # the thread ended meanwhile
        n += name.startswith(("samsa-fetcher", "ReplicaFetcherT"))
    return n
