#!/usr/bin/env python3
"""Event-loop stalls: how long other clients wait while the broker does
ZooKeeper work, samsa beside Apache Kafka (ZooKeeper mode) in one run.

    bench/stalls.py [--phases compact,create,expiry] [--partitions 10000] [--topic-partitions 4] [--batch 50]
                    [--kafka-version 3.9.1] [--targets samsa,kafka] [--out bench/results]

For each broker, on a ZooKeeper of its own:
  create   one client creates --partitions partitions as topics of
           --topic-partitions partitions, --batch topics per CreateTopics
           request, waiting for each; total creation time is reported;
  expiry   ZooKeeper is frozen (SIGSTOP) past the broker's session timeout
           (6 s) and resumed, so the session expires and the broker
           re-registers and reloads;
  compact  a compacted topic of --compact-records records over
           --compact-keys keys (150-byte values, 16 MiB segments) is
           written, then the probe runs for 30 s while the log cleaner works
           (the log's size before and after shows it did);
while a probe client sends ApiVersions every 10 ms on its own connection.
Reported per phase: probe p50 / p99 / max latency (a request still
unanswered at the end counts) and the number of probes.  Not part of the
test suite.
"""
import argparse
import os
import signal
import socket
import statistics
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from servers import KafkaBroker, SamsaBroker, ZooKeeper  # noqa: E402
from compare import print_ratios, run_targets, save  # noqa: E402


class Probe(threading.Thread):
    """ApiVersions v0 every 10 ms; keeps every latency in ms."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.lat = []
        self.started = None
        self.stop_flag = threading.Event()
        self.corr = 0

    def ask(self):
        self.corr += 1
        body = struct.pack(">hhih", 18, 0, self.corr, 5) + b"probe"
        self.sock.sendall(struct.pack(">i", len(body)) + body)
        (size,) = struct.unpack(">i", self._read(4))
        self._read(size)

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("broker closed the probe")
            buf += chunk
        return buf

    def run(self):
        while not self.stop_flag.is_set():
            self.started = time.perf_counter()
            self.ask()
            self.lat.append((time.perf_counter() - self.started) * 1000)
            self.started = None
            time.sleep(0.01)

    def finish(self):
        in_flight = self.started
        self.stop_flag.set()
        if in_flight is not None:
            self.lat.append((time.perf_counter() - in_flight) * 1000)
        self.join(120)
        self.sock.close()
        lat = sorted(self.lat)
        return {"probes": len(lat), "p50_ms": statistics.median(lat),
                "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))], "max_ms": lat[-1]}


def create_phase(broker, partitions, per_topic, batch):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    n_topics = partitions // per_topic
    probe = Probe(broker.port)
    probe.start()
    t0 = time.perf_counter()
    for start in range(0, n_topics, batch):
        topics = [NewTopic(f"stall-{i}", per_topic, 1) for i in range(start, min(n_topics, start + batch))]
        for f in admin.create_topics(topics, request_timeout=600).values():
            f.result(600)
    took = time.perf_counter() - t0
    out = probe.finish()
    out["creation_s"] = took
    return out


def expiry_phase(broker, zk):
    probe = Probe(broker.port)
    probe.start()
    time.sleep(0.5)
    os.kill(zk.proc.pid, signal.SIGSTOP)
    time.sleep(8)
    os.kill(zk.proc.pid, signal.SIGCONT)
    time.sleep(6)
    return probe.finish()


def dir_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs
               if f.endswith(".log"))


def compact_phase(broker, records, keys, seconds):
    """A compacted topic of `records` records over `keys` keys is written
    first; the probe then runs while the cleaner works for `seconds`."""
    from confluent_kafka import Producer
    topic = "stall-compact"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1, config={
        "cleanup.policy": "compact", "segment.bytes": str(16 << 20),
        "min.cleanable.dirty.ratio": "0.01"})])[topic].result(60)
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 20, "batch.size": 1 << 20})
    value = b"v" * 150
    for i in range(records):
        while True:
            try:
                p.produce(topic, key=b"key-%08d" % (i % keys), value=value, partition=0)
                break
            except BufferError:
                p.poll(0.05)
    p.flush(120)
    part_dir = os.path.join(broker.logdir, f"{topic}-0")
    before = dir_bytes(part_dir)
    probe = Probe(broker.port)
    probe.start()
    time.sleep(seconds)
    out = probe.finish()
    out["log_mb_before"] = before / (1 << 20)
    out["log_mb_after"] = dir_bytes(part_dir) / (1 << 20)
    return out


def run_target(target, args, workdir):
    zk = ZooKeeper(os.path.join(workdir, "zk"))
    props = {"zookeeper.session.timeout.ms": "6000", "num.partitions": "1",
             "log.cleaner.backoff.ms": "1000"}
    broker = (SamsaBroker(zk, workdir, props=props) if target == "samsa"
              else KafkaBroker(zk.connect, workdir, props=props, version=args.kafka_version))
    broker.start()
    try:
        out = {}
        phases = args.phases.split(",")
        if "compact" in phases:
            out["compact"] = compact_phase(broker, args.compact_records, args.compact_keys, 30)
            print(f"  {target} compact: {out['compact']}", flush=True)
        if "create" in phases:
            out["create"] = create_phase(broker, args.partitions, args.topic_partitions, args.batch)
            print(f"  {target} create: {out['create']}", flush=True)
        if "expiry" in phases:
            out["expiry"] = expiry_phase(broker, zk)
            print(f"  {target} expiry: {out['expiry']}", flush=True)
        return out
    finally:
        os.kill(zk.proc.pid, signal.SIGCONT)
        broker.stop()
        zk.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--partitions", type=int, default=10000)
    ap.add_argument("--topic-partitions", type=int, default=4)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--kafka-version", default="3.9.1")
    ap.add_argument("--targets", default="samsa,kafka")
    ap.add_argument("--phases", default="compact,create,expiry")
    ap.add_argument("--compact-records", type=int, default=3_000_000)
    ap.add_argument("--compact-keys", type=int, default=500_000)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    results = run_targets(args, "stalls", run_target)
    phases = args.phases.split(",")
    print(f"\n{args.partitions} partitions ({args.topic_partitions} per topic, "
          f"{args.batch} topics per request); ZooKeeper frozen 8 s for expiry; "
          f"{args.compact_records} records over {args.compact_keys} keys compacted")
    rows = (("compact", "p50_ms"), ("compact", "p99_ms"), ("compact", "max_ms"),
            ("compact", "log_mb_before"), ("compact", "log_mb_after"),
            ("create", "creation_s"), ("create", "p50_ms"), ("create", "p99_ms"), ("create", "max_ms"),
            ("expiry", "p50_ms"), ("expiry", "p99_ms"), ("expiry", "max_ms"))
    print_ratios(results, [(f"{phase} {metric}", lambda r, p=phase, m=metric: r[p][m])
                           for phase, metric in rows if phase in phases])
    save(results, args.out, "stalls" if args.phases == "compact,create,expiry"
         else "stalls-" + "-".join(phases))


if __name__ == "__main__":
    main()
