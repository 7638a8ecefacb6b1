#!/usr/bin/env python3
"""Consumer-group figures, samsa vs Apache Kafka (ZooKeeper mode), same
machine, same client (confluent-kafka / librdkafka):

  rebalance 3 -> 2   three consumers share a 6-partition topic; one leaves
                     cleanly (close()); time until the other two own all six
                     partitions again (session.timeout.ms=10000,
                     heartbeat.interval.ms=500, range assignor, eager)
  commit rate        one consumer committing one offset synchronously in a
                     loop (commit(asynchronous=False)); commits per second

    bench/groups.py [--runs 5] [--commits 3000]

Prints a table (median and min..max of --runs) and writes bench/results/groups.json.
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
from servers import KafkaBroker, SamsaBroker, ZooKeeper, wait_for  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402


class GroupMember(threading.Thread):
    def __init__(self, bootstrap, topic, group):
        super().__init__(daemon=True)
        self.c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                           "session.timeout.ms": 10000, "heartbeat.interval.ms": 500,
                           "partition.assignment.strategy": "range", "enable.auto.commit": False})
        self.topic = topic
        self.assigned = set()
        self.last_assign = 0.0
        self.stop_flag = threading.Event()
        self.closed_at = None

    def run(self):
        def on_assign(_c, tps):
            self.assigned = {tp.partition for tp in tps}
            self.last_assign = time.monotonic()

        def on_revoke(_c, tps):
            self.assigned = set()

        self.c.subscribe([self.topic], on_assign=on_assign, on_revoke=on_revoke)
        while not self.stop_flag.is_set():
            self.c.poll(0.05)
        self.closed_at = time.monotonic()
        self.c.close()


def create_topic(bootstrap, topic, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(60)
    time.sleep(0.5)


def rebalance_3_to_2(bootstrap):
    topic, group = "rb-" + uuid.uuid4().hex[:6], "rbg-" + uuid.uuid4().hex[:6]
    create_topic(bootstrap, topic, 6)
    ms = [GroupMember(bootstrap, topic, group) for _ in range(3)]
    for m in ms:
        m.start()
    wait_for(lambda: sorted(p for m in ms for p in m.assigned) == list(range(6))
             and all(len(m.assigned) == 2 for m in ms), 120, "3 consumers stable")
    time.sleep(1.0)
    t0 = time.monotonic()
    ms[0].stop_flag.set()
    ms[0].join(30)
    rest = ms[1:]
    wait_for(lambda: sorted(p for m in rest for p in m.assigned) == list(range(6)), 120, "2 consumers stable")
    took = max(m.last_assign for m in rest) - t0
    for m in rest:
        m.stop_flag.set()
    for m in rest:
        m.join(30)
    return took * 1000.0


def commit_rate(bootstrap, n):
    topic, group = "cr-" + uuid.uuid4().hex[:6], "crg-" + uuid.uuid4().hex[:6]
    create_topic(bootstrap, topic, 1)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition(topic, 0, 0)], asynchronous=False)   # warm up: coordinator known
    t0 = time.monotonic()
    for i in range(1, n + 1):
        c.commit(offsets=[TopicPartition(topic, 0, i)], asynchronous=False)
    rate = n / (time.monotonic() - t0)
    c.close()
    return rate


def summarize(v):
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": v}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--commits", type=int, default=3000)
    ap.add_argument("--kafka-version", default=os.environ.get("KAFKA_VERSION", "3.9.1"))
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="samsa-bench-groups-")
    zk = ZooKeeper(os.path.join(work, "zk"))
    results = {}
    try:
        for kind in ("kafka", "samsa"):
            d = os.path.join(work, kind)
            os.makedirs(d)
            props = {"offsets.topic.replication.factor": "1", "group.initial.rebalance.delay.ms": "0"}
            b = (SamsaBroker(zk, d, props=props) if kind == "samsa"
                 else KafkaBroker(zk.connect, d, version=args.kafka_version, props=props)).start()
            try:
                commit_rate(b.bootstrap, 10)    # creates __consumer_offsets
                rb = [rebalance_3_to_2(b.bootstrap) for _ in range(args.runs)]
                cr = [commit_rate(b.bootstrap, args.commits) for _ in range(args.runs)]
                results[kind] = {"rebalance_3_to_2_ms": summarize(rb), "commits_per_s": summarize(cr)}
                print(f"{kind}: rebalance {statistics.median(rb):.0f} ms, "
                      f"commits {statistics.median(cr):.0f}/s", flush=True)
            finally:
                b.stop()
    finally:
        zk.stop()
        shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "groups.json"), "w") as f:
        json.dump(results, f, indent=2)
    print("\n| metric | samsa | Kafka | samsa/Kafka |\n|---|---|---|---|")
    for m in ("rebalance_3_to_2_ms", "commits_per_s"):
        s, k = results["samsa"][m], results["kafka"][m]
        print(f"| {m} | {s['median']:.0f} ({s['min']:.0f}..{s['max']:.0f}) | "
              f"{k['median']:.0f} ({k['min']:.0f}..{k['max']:.0f}) | {s['median'] / k['median']:.2f} |")


if __name__ == "__main__":
    main()
