#!/usr/bin/env python3
"""Transactions, samsa beside Apache Kafka (ZooKeeper mode) in one run,
same client (confluent-kafka / librdkafka), one broker each:

  produce    a transactional producer writes --transactions transactions of
             1,000 records of 100 B to a 1-partition topic (linger.ms=5);
             records/s, and records per broker CPU-second
  consume    a read_committed consumer reads them all back; records/s and
             records per broker CPU-second
  latency    --latency-txns transactions of one record each: from produce()
             to a read_committed consumer receiving it (the commit, its
             markers and the last stable offset included); p50 / p99
  stalls     a probe client sends ApiVersions every 10 ms during produce
             and consume; its max latency is the loop stall

    bench/transactions.py [--transactions 300] [--latency-txns 300] [--targets samsa,kafka]

Prints the samsa/Kafka table and writes bench/results/transactions.json.
Not part of the test suite.
"""
import argparse
import os
import statistics
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from servers import KafkaBroker, SamsaBroker, ZooKeeper, wait_for  # noqa: E402
from compare import add_target_args, print_ratios, run_targets, save  # noqa: E402
from run import cpu_seconds  # noqa: E402
from stalls import Probe  # noqa: E402

VALUE = b"x" * 100


def create_topic(bootstrap, topic):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(60)

    def led():
        md = admin.list_topics(topic, timeout=10).topics.get(topic)
        return md is not None and md.error is None and md.partitions[0].leader >= 0
    wait_for(led, 60, "a leader")


class probed:
    """Runs a Probe (ApiVersions every 10 ms) around a block."""

    def __init__(self, port):
        self.probe = Probe(port)

    def __enter__(self):
        self.probe.start()
        return self

    def __exit__(self, *exc):
        self.max_ms = self.probe.finish()["max_ms"]


def produce_phase(broker, topic, txns):
    p = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": "bench-" + uuid.uuid4().hex[:6],
                  "linger.ms": 5})
    p.init_transactions(60)
    cpu0 = cpu_seconds(broker.proc.pid)
    with probed(broker.port) as pr:
        t0 = time.monotonic()
        for _ in range(txns):
            p.begin_transaction()
            for _ in range(1000):
                while True:
                    try:
                        p.produce(topic, value=VALUE, partition=0)
                        break
                    except BufferError:
                        p.poll(0.01)
            p.commit_transaction(60)
        took = time.monotonic() - t0
    cpu = cpu_seconds(broker.proc.pid) - cpu0
    n = txns * 1000
    return {"records_per_s": n / took, "records_per_cpu_s": n / max(cpu, 1e-6),
            "broker_cpu_s": cpu, "probe_max_ms": pr.max_ms}


def consume_phase(broker, topic, txns):
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "bench-" + uuid.uuid4().hex[:6],
                  "isolation.level": "read_committed", "enable.auto.commit": False,
                  "fetch.max.bytes": 8 << 20})
    c.assign([TopicPartition(topic, 0, 0)])
    want = txns * 1000
    got = 0
    cpu0 = cpu_seconds(broker.proc.pid)
    with probed(broker.port) as pr:
        t0 = time.monotonic()
        deadline = t0 + 300
        while got < want and time.monotonic() < deadline:
            # A short wait: consume(n, t) holds a partial batch until t, and
            # a 0.5 s tail wait was most of a run that takes about a second.
            got += sum(1 for m in c.consume(10000, 0.02) if not m.error())
        took = time.monotonic() - t0
    cpu = cpu_seconds(broker.proc.pid) - cpu0
    c.close()
    assert got == want, f"read {got} of {want} committed records"
    return {"records_per_s": got / took, "records_per_cpu_s": got / max(cpu, 1e-6),
            "broker_cpu_s": cpu, "probe_max_ms": pr.max_ms}


def latency_phase(broker, topic, n):
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "bench-" + uuid.uuid4().hex[:6],
                  "isolation.level": "read_committed", "enable.auto.commit": False,
                  "fetch.wait.max.ms": 5})
    end = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    c.assign([TopicPartition(topic, 0, end)])
    sent = {}
    lat = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            m = c.poll(0.1)     # returns at the first record (consume(n) waits for n)
            if m is not None and not m.error() and m.key() in sent:
                lat.append((time.monotonic() - sent[m.key()]) * 1000.0)
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    p = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": "lat-" + uuid.uuid4().hex[:6],
                  "linger.ms": 0})
    p.init_transactions(60)
    for i in range(n):
        key = b"lat-%d" % i
        p.begin_transaction()
        sent[key] = time.monotonic()
        p.produce(topic, key=key, value=VALUE, partition=0)
        p.commit_transaction(60)
        deadline = time.monotonic() + 10
        while len(lat) < i + 1 and time.monotonic() < deadline:
            time.sleep(0.0005)
    stop.set()
    th.join(10)
    c.close()
    assert len(lat) == n, f"{len(lat)} of {n} committed records arrived"
    lat.sort()
    return {"p50_ms": statistics.median(lat), "p99_ms": lat[int(len(lat) * 0.99) - 1]}


def run_target(target, args, workdir):
    zk = ZooKeeper(os.path.join(workdir, "zk"))
    props = {"transaction.state.log.replication.factor": "1", "transaction.state.log.min.isr": "1"}
    broker = (SamsaBroker(zk, workdir, props=props) if target == "samsa"
              else KafkaBroker(zk.connect, workdir, props=props, version=args.kafka_version))
    broker.start()
    try:
        topic = "txn-bench-" + uuid.uuid4().hex[:6]
        create_topic(broker.bootstrap, topic)
        out = {"produce": produce_phase(broker, topic, args.transactions)}
        print(f"  {target} produce: {out['produce']}", flush=True)
        out["consume"] = consume_phase(broker, topic, args.transactions)
        print(f"  {target} consume: {out['consume']}", flush=True)
        out["latency"] = latency_phase(broker, topic, args.latency_txns)
        print(f"  {target} latency: {out['latency']}", flush=True)
        return out
    finally:
        broker.stop()
        zk.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--transactions", type=int, default=300)
    ap.add_argument("--latency-txns", type=int, default=300)
    add_target_args(ap, HERE)
    args = ap.parse_args()
    results = run_targets(args, "transactions", run_target)
    print(f"\n{args.transactions} transactions of 1,000 x 100 B records; "
          f"{args.latency_txns} one-record transactions for latency")
    rows = [("produce", "records_per_s"), ("produce", "records_per_cpu_s"),
            ("produce", "probe_max_ms"), ("consume", "records_per_s"),
            ("consume", "records_per_cpu_s"), ("consume", "probe_max_ms"),
            ("latency", "p50_ms"), ("latency", "p99_ms")]
    print_ratios(results, [(f"{phase} {metric}", lambda r, p=phase, m=metric: r[p][m])
                           for phase, metric in rows])
    save(results, args.out, "transactions")


if __name__ == "__main__":
    main()
