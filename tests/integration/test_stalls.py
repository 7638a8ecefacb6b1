"""ZooKeeper work never stalls clients: while topics are created in bulk,
or while ZooKeeper itself is frozen and the session expires, a probe
client's requests keep being answered.  (How fast is measured by
bench/stalls.py; these tests only catch the multi-second freezes.)"""
import os
import signal
import threading
import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import is_samsa, new_broker, unique, wait_for
from kproto import Conn, api_versions_v0
from servers import ZooKeeper

STALL_LIMIT_S = 1.0


class Probe:
    """Sends ApiVersions every 10 ms on its own connection and keeps the
    slowest answer."""

    def __init__(self, port):
        self.conn = Conn(port)
        self.worst = 0.0
        self.count = 0
        self.started = None     # send time of the request in flight
        self.failed = None
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop_flag.is_set():
            self.started = t0 = time.time()
            try:
                err, _ = api_versions_v0(self.conn)
                assert err == 0
            except Exception as e:  # noqa: BLE001 - reported by stop()
                self.failed = e
                return
            self.started = None
            self.worst = max(self.worst, time.time() - t0)
            self.count += 1
            time.sleep(0.01)

    def stop(self):
        """The slowest answer, counting a request still unanswered."""
        self.stop_flag.set()
        in_flight = self.started
        worst = max(self.worst, time.time() - in_flight if in_flight else 0.0)
        self.thread.join(30)
        self.conn.close()
        assert worst < STALL_LIMIT_S, f"a client waited {worst:.2f} s"
        assert self.failed is None, f"probe failed: {self.failed!r}"
        assert self.count > 10
        return worst


def test_bulk_topic_creation_does_not_stall_other_clients(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    probe = Probe(broker.port)
    prefix = unique("bulk")
    for batch in range(4):
        topics = [NewTopic(f"{prefix}-{batch}-{i}", 2, 1) for i in range(50)]
        for f in admin.create_topics(topics, request_timeout=60).values():
            f.result(60)
    probe.stop()
    md = admin.list_topics(timeout=30)
    assert sum(1 for t in md.topics if t.startswith(prefix)) == 200


def test_frozen_zookeeper_does_not_stall_clients(tmp_path):
    """ZooKeeper stops answering (SIGSTOP) while a client creates a topic;
    other clients are served meanwhile, and after ZooKeeper resumes past
    the session timeout the broker re-registers and the creation
    completes."""
    zk = ZooKeeper(str(tmp_path / "zk"))
    b = new_broker(zk, str(tmp_path), props={"zookeeper.session.timeout.ms": "6000"}).start()
    try:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        probe = Probe(b.port)
        os.kill(zk.proc.pid, signal.SIGSTOP)
        topic = unique("frozen")
        fut = admin.create_topics([NewTopic(topic, 1, 1)], request_timeout=120)[topic]
        time.sleep(8)           # past the session timeout
        os.kill(zk.proc.pid, signal.SIGCONT)
        # Kafka answers the creation caught by the expiry with an error;
        # samsa retries it on the new session.  Either way it is answered,
        # and the broker works again on its new session.
        try:
            fut.result(120)
        except KafkaException as e:
            assert not is_samsa(b), f"samsa failed the creation: {e}"
        again = unique("after")

        def created():
            try:
                admin.create_topics([NewTopic(again, 1, 1)], request_timeout=30)[again].result(30)
            except KafkaException as e:
                # Kafka's controller is re-elected on the new session first.
                return e.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS
            return True
        wait_for(created, 90, "a topic created on the new session")
        wait_for(lambda: again in admin.list_topics(timeout=10).topics, 60, "the topic")
        probe.stop()
    finally:
        os.kill(zk.proc.pid, signal.SIGCONT)
        b.kill9()
        if is_samsa(b):
            b.assert_no_sanitizer_reports()
        zk.stop()


def test_a_producer_at_full_speed_does_not_stall_other_clients(broker):
    """A producer keeping its socket full (acks=1, no throttle) must not
    hold the event loop: other connections get their turn between its
    reads.  (The loop once re-ran a busy connection's read turn before
    polling the other sockets again, and a probe waited seconds.)"""
    import subprocess
    from conftest import tool
    topic = unique("flood")
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    probe = Probe(broker.port)
    out = subprocess.run([tool("samsa-producer-perf-test"), "--topic", topic, "--num-records",
                          "300000", "--record-size", "1024", "--throughput", "-1",
                          "--producer-props", f"bootstrap.servers={broker.bootstrap}", "acks=1"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "300000 records sent" in out.stdout, out.stdout[-500:]
    probe.stop()
