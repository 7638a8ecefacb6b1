#!/usr/bin/env python3
"""Produce latency while a large log moves to another log dir
(AlterReplicaLogDirs), samsa beside Apache Kafka (ZooKeeper mode) in one run.

    bench/log_dir_move.py [--gb 4] [--segment-mb 256] [--kafka-version 3.9.1]
                          [--targets samsa,kafka] [--out bench/results]

For each broker, with two log dirs, on a ZooKeeper of its own:
  fill       --gb of 1 MiB records go to a one-partition topic in
             --segment-mb segments;
  baseline   a probe sends a 100-byte Produce (acks=1) to another topic
             every 10 ms for 20 s, each waited for;
  move       AlterReplicaLogDirs moves the big topic's log to the other
             dir, unthrottled, and the probe runs until DescribeLogDirs
             shows it there and no future log (at most 300 s).
Reported: probe p50 / p99 / max latency in each window, the move window's
p99 over the baseline's, how long the move took and its copy rate.  Both
dirs share one file system here, so the copy reads from the page cache as
much as from the disk.  Not part of the test suite.
"""
import argparse
import os
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from kproto import Conn, kstr  # noqa: E402
from servers import KafkaBroker, SamsaBroker, ZooKeeper  # noqa: E402
from compare import add_target_args, print_ratios, run_targets, save  # noqa: E402
from retention import BULK, PROBE, Probe, fill  # noqa: E402


def alter_log_dir(port, path, topic):
    """AlterReplicaLogDirs v1 for topic-0; its error code."""
    body = struct.pack(">i", 1) + kstr(path) + struct.pack(">i", 1) + kstr(topic)
    body += struct.pack(">ii", 1, 0)
    c = Conn(port)
    try:
        r = c.request(34, 1, body)
    finally:
        c.close()
    (tl,) = struct.unpack_from(">h", r, 8)
    (_part, err) = struct.unpack_from(">ih", r, 8 + 2 + tl + 4)
    return err


def moved(dst, topic):
    """The log is in dst under its own name and no future log is left."""
    names = os.listdir(dst)
    return f"{topic}-0" in names and not any(n.endswith("-future") for n in names)


def run_target(target, args, workdir):
    zk = ZooKeeper(os.path.join(workdir, "zk"))
    dirs = [os.path.join(workdir, "dir-a"), os.path.join(workdir, "dir-b")]
    props = {"num.partitions": "1", "log.dirs": ",".join(dirs), "message.max.bytes": str(8 << 20),
             "replica.fetch.max.bytes": str(8 << 20), "log.segment.delete.delay.ms": "1000"}
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
        src = next(d for d in dirs if os.path.isdir(os.path.join(d, f"{BULK}-0")))
        dst = next(d for d in dirs if d != src)
        print(f"  {target}: filled {args.gb} GiB in {out['fill_s']:.0f} s", flush=True)
        time.sleep(5)
        probe = Probe(broker.port)
        probe.start()
        time.sleep(20)
        out["baseline"] = probe.finish()
        print(f"  {target} baseline: {out['baseline']}", flush=True)
        probe = Probe(broker.port)
        probe.start()
        t0 = time.time()
        assert alter_log_dir(broker.port, dst, BULK) == 0
        deadline = t0 + 300
        while time.time() < deadline and not moved(dst, BULK):
            time.sleep(0.2)
        out["move_s"] = time.time() - t0
        out["moved"] = moved(dst, BULK)
        time.sleep(2)
        out["move"] = probe.finish()
        out["mb_per_s"] = args.gb * 1024 / out["move_s"]
        out["p99_ratio"] = out["move"]["p99_ms"] / out["baseline"]["p99_ms"]
        print(f"  {target} move: {out['move']} in {out['move_s']:.1f} s "
              f"({'done' if out['moved'] else 'NOT DONE'})", flush=True)
        return out
    finally:
        broker.stop()
        zk.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=int, default=4)
    ap.add_argument("--segment-mb", type=int, default=256)
    add_target_args(ap, HERE)
    args = ap.parse_args()
    results = run_targets(args, "log_dir_move", run_target)
    print(f"\n{args.gb} GiB in {args.segment_mb} MiB segments moved to another log dir while a "
          "probe produces every 10 ms (acks=1)")
    rows = [(f"{w} {m}", lambda r, w=w, m=m: r[w][m]) for w in ("baseline", "move")
            for m in ("p50_ms", "p99_ms", "max_ms")]
    rows += [("move p99/baseline", lambda r: r["p99_ratio"]),
             ("move_s", lambda r: r["move_s"]),
             ("copy MB/s", lambda r: r["mb_per_s"])]
    print_ratios(results, rows)
    save(results, args.out, "log_dir_move")


if __name__ == "__main__":
    main()
