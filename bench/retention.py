#!/usr/bin/env python3
"""Produce latency while retention deletes a large log, samsa beside Apache
Kafka (ZooKeeper mode) in one run.

    bench/retention.py [--gb 10] [--segment-mb 256] [--kafka-version 3.9.1]
                       [--targets samsa,kafka] [--out bench/results]

For each broker, on a ZooKeeper of its own (log.retention.check.interval.ms
1 s, log.segment.delete.delay.ms 1 s, so renaming and unlinking both fall
in the measured window):
  fill       --gb of 1 MiB records go to a one-partition topic in
             --segment-mb segments;
  baseline   a probe sends a 100-byte Produce (acks=1) to another topic
             every 10 ms for 20 s, each waited for;
  deletion   the big topic's retention.ms is set to 1000 with
             IncrementalAlterConfigs, and the probe runs until its log
             directory is empty (at most 180 s);
Reported: probe p50 / p99 / max latency in each window, the deletion
window's p99 over the baseline's (the issue asks for at most 1.10), how
long deletion took, and how many GiB went.  Not part of the test suite.
"""
import argparse
import os
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry,  # noqa: E402
                                   ConfigResource, NewTopic)
from kproto import Conn, batch, parse_produce_v3_response, produce_v3  # noqa: E402
from servers import KafkaBroker, SamsaBroker, ZooKeeper  # noqa: E402
from compare import add_target_args, print_ratios, run_targets, save  # noqa: E402

BULK, PROBE = "bulk", "probe"


class Probe(threading.Thread):
    """One acks=1 Produce of a 100-byte record every 10 ms, waited for."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.conn = Conn(port)
        self.lat = []
        self.stop_flag = threading.Event()
        self.errors = 0
        self.record = batch(1, value=b"p" * 100)

    def run(self):
        while not self.stop_flag.is_set():
            t0 = time.perf_counter()
            body = self.conn.request(0, 3, produce_v3(PROBE, 0, self.record, acks=1))
            self.lat.append((time.perf_counter() - t0) * 1000)
            self.errors += sum(1 for _t, _p, err, _b in parse_produce_v3_response(body) if err)
            time.sleep(max(0.0, 0.010 - (time.perf_counter() - t0)))

    def finish(self):
        self.stop_flag.set()
        self.join(30)
        self.conn.close()
        lat = sorted(self.lat)
        return {"p50_ms": statistics.median(lat), "p99_ms": lat[int(len(lat) * 0.99) - 1],
                "max_ms": lat[-1], "probes": len(lat), "probe_errors": self.errors}


def dir_bytes(path):
    total = 0
    for f in os.listdir(path):
        if f.endswith(".log") or f.endswith(".deleted"):
            total += os.path.getsize(os.path.join(path, f))
    return total


def fill(broker, gb):
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": 1, "linger.ms": 20,
                  "batch.size": 4 << 20, "message.max.bytes": 8 << 20,
                  "queue.buffering.max.kbytes": 1 << 20})
    value = os.urandom(1 << 20)
    t0 = time.time()
    for i in range(gb * 1024):
        while True:
            try:
                p.produce(BULK, value, partition=0)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    assert p.flush(600) == 0
    return time.time() - t0


def run_target(target, args, workdir):
    zk = ZooKeeper(os.path.join(workdir, "zk"))
    props = {"num.partitions": "1", "log.retention.check.interval.ms": "1000",
             "log.segment.delete.delay.ms": "1000", "message.max.bytes": str(8 << 20),
             "replica.fetch.max.bytes": str(8 << 20)}
    broker = (SamsaBroker(zk, workdir, props=props) if target == "samsa"
              else KafkaBroker(zk.connect, workdir, props=props, version=args.kafka_version))
    broker.start()
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        futs = admin.create_topics([NewTopic(BULK, 1, 1, config={
            "segment.bytes": str(args.segment_mb << 20)}), NewTopic(PROBE, 1, 1)])
        for f in futs.values():
            f.result(60)
        out = {"fill_s": fill(broker, args.gb)}
        part = os.path.join(broker.logdir, f"{BULK}-0")
        out["gib_before"] = dir_bytes(part) / (1 << 30)
        print(f"  {target}: filled {out['gib_before']:.2f} GiB in {out['fill_s']:.0f} s", flush=True)
        time.sleep(5)
        probe = Probe(broker.port)
        probe.start()
        time.sleep(20)
        out["baseline"] = probe.finish()
        print(f"  {target} baseline: {out['baseline']}", flush=True)
        probe = Probe(broker.port)
        probe.start()
        t0 = time.time()
        res = ConfigResource("topic", BULK, incremental_configs=[
            ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)])
        for f in admin.incremental_alter_configs([res]).values():
            f.result(60)
        deadline = t0 + 180
        while time.time() < deadline and dir_bytes(part) > (args.segment_mb << 20):
            time.sleep(0.5)
        out["deletion_s"] = time.time() - t0
        time.sleep(3)
        out["deletion"] = probe.finish()
        out["gib_after"] = dir_bytes(part) / (1 << 30)
        out["p99_ratio"] = out["deletion"]["p99_ms"] / out["baseline"]["p99_ms"]
        print(f"  {target} deletion: {out['deletion']} in {out['deletion_s']:.1f} s, "
              f"{out['gib_after']:.2f} GiB left", flush=True)
        return out
    finally:
        broker.stop()
        zk.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=int, default=10)
    ap.add_argument("--segment-mb", type=int, default=256)
    add_target_args(ap, HERE)
    args = ap.parse_args()
    results = run_targets(args, "retention", run_target)
    print(f"\n{args.gb} GiB in {args.segment_mb} MiB segments deleted by retention while a "
          "probe produces every 10 ms (acks=1)")
    rows = [(f"{w} {m}", lambda r, w=w, m=m: r[w][m]) for w in ("baseline", "deletion")
            for m in ("p50_ms", "p99_ms", "max_ms")]
    rows += [("deletion p99/baseline", lambda r: r["p99_ratio"]),
             ("deletion_s", lambda r: r["deletion_s"]),
             ("gib_deleted", lambda r: r["gib_before"] - r["gib_after"])]
    print_ratios(results, rows)
    save(results, args.out, "retention")


if __name__ == "__main__":
    main()
