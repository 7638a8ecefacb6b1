#!/usr/bin/env python3
"""Replicated produce and leader failover: a three-broker samsa cluster
beside a three-broker Apache Kafka (ZooKeeper mode) cluster, in one run.

    bench/replication.py [--records 300000] [--rate 20000] [--kafka-version 3.9.1]
                         [--targets samsa,kafka] [--out bench/results]

Cases (replication factor 3, acks=all, min.insync.replicas=2, linger.ms=5,
librdkafka's samsa-producer-perf-test, brokers on loopback):
  max       100 B and 1 KiB records, 1 and 6 partitions, as fast as the
            producer goes: records/s, MB/s, and the CPU seconds all three
            brokers spent per million records; meanwhile a probe client sends
            ApiVersions every 10 ms to the leader of partition 0 (loop
            stalls: the probe's p99 and max latency)
  latency   100 B, 1 partition, at --rate records/s for 20 s after a 2 s
            warm-up: produce p50/p99/p99.9 (acknowledged by the whole ISR),
            and the leader's loop stalls over those 20 s (the probe above)
  failover  an idempotent confluent-kafka producer sends acks=all every 5 ms
            to a 1-partition topic; its leader is killed with SIGKILL; the
            time until a record sent after the kill is acknowledged (the
            ZooKeeper session timeout, 6 s here, dominates for both)
Not part of the test suite.
"""
import argparse
import os
import signal
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
from cluster import Cluster  # noqa: E402
from compare import add_target_args, print_ratios, run_targets, save  # noqa: E402
from run import cpu_seconds, producer_perf, run, TOPICS  # noqa: E402
from servers import ZooKeeper, wait_for  # noqa: E402
from stalls import Probe  # noqa: E402

PROPS = {"zookeeper.session.timeout.ms": "6000", "offsets.topic.replication.factor": "3",
         "num.partitions": "1"}


def create_rf3(bootstrap, topic, partitions):
    run([TOPICS, "--bootstrap-server", bootstrap, "--create", "--topic", topic, "--partitions",
         str(partitions), "--replication-factor", "3", "--config", "min.insync.replicas=2"])

    def full():
        out = run([TOPICS, "--bootstrap-server", bootstrap, "--describe", "--topic", topic])
        rows = [l for l in out.splitlines() if "Partition:" in l and "Leader:" in l]
        return len(rows) == partitions and all(
            "Leader: none" not in l and len(l.split("Isr: ")[1].split(",")) == 3 for l in rows)
    wait_for(full, 60, "leaders and full ISRs")


def cluster_cpu(c):
    return sum(cpu_seconds(b.pid) for b in c.brokers)


def failover(c, topic):
    from confluent_kafka import Producer
    create_rf3(c.bootstrap, topic, 1)
    p = Producer({"bootstrap.servers": c.bootstrap, "acks": "all", "enable.idempotence": True,
                  "linger.ms": 0})
    acked = []
    stop = threading.Event()

    def send():
        while not stop.is_set():
            sent = time.monotonic()
            p.produce(topic, b"x", on_delivery=lambda err, m, sent=sent:
                      acked.append((sent, time.monotonic())) if err is None else None)
            p.poll(0)
            time.sleep(0.005)
    t = threading.Thread(target=send, daemon=True)
    t.start()
    wait_for(lambda: len(acked) > 100, 60, "records acknowledged")
    victim = c.leader(topic, 0)
    killed = time.monotonic()
    c.kill9(victim)
    wait_for(lambda: any(s > killed for s, _ in acked), 120, "an acknowledgement after the kill")
    seconds = min(a for s, a in acked if s > killed) - killed
    stop.set()
    t.join()
    p.flush(30)
    c.restart(victim)
    return {"seconds_to_first_ack": seconds}


def run_target(target, args, workdir):
    zk = ZooKeeper(os.path.join(workdir, "zk"))
    c = Cluster(zk, workdir, [target] * 3, props=PROPS)
    out = {}
    try:
        c.start()
        for size, parts in ((100, 1), (100, 6), (1024, 1), (1024, 6)):
            topic = f"max-{size}-{parts}-{uuid.uuid4().hex[:6]}"
            create_rf3(c.bootstrap, topic, parts)
            n = args.records if size == 100 else args.records // 4
            cpu0 = cluster_cpu(c)
            probe = Probe(c.broker(c.leader(topic, 0)).port)
            probe.start()
            r = producer_perf(c.bootstrap, topic, n, size, "all")
            stalls = probe.finish()
            r["cluster_cpu_s_per_m"] = (cluster_cpu(c) - cpu0) / n * 1e6
            r["probe_p99_ms"], r["probe_max_ms"] = stalls["p99_ms"], stalls["max_ms"]
            out[f"max_{size}b_{parts}p"] = r
            print(f"  {target} max {size} B x {parts}: {r}", flush=True)
        topic = f"lat-{uuid.uuid4().hex[:6]}"
        create_rf3(c.bootstrap, topic, 1)
        # A warm-up run first: the first seconds after a topic's creation
        # (connections, metadata, JIT for Kafka) are not the steady state.
        producer_perf(c.bootstrap, topic, args.rate * 2, 100, "all", throughput=args.rate)
        probe = Probe(c.broker(c.leader(topic, 0)).port)
        probe.start()
        r = producer_perf(c.bootstrap, topic, args.rate * 20, 100, "all", throughput=args.rate)
        stalls = probe.finish()
        r["probe_p99_ms"], r["probe_max_ms"] = stalls["p99_ms"], stalls["max_ms"]
        out["latency_100b"] = r
        print(f"  {target} latency at {args.rate}/s: {r}", flush=True)
        out["failover"] = failover(c, f"fo-{uuid.uuid4().hex[:6]}")
        print(f"  {target} failover: {out['failover']}", flush=True)
    finally:
        c.stop()
        zk.stop()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=300000)
    ap.add_argument("--rate", type=int, default=20000)
    add_target_args(ap, HERE)
    args = ap.parse_args()
    results = run_targets(args, "replication", run_target)
    rows = []
    for k in ("max_100b_1p", "max_100b_6p", "max_1024b_1p", "max_1024b_6p"):
        rows += [(f"{k} msgs/s", lambda r, k=k: r[k]["msgs_s"]),
                 (f"{k} p99 ms", lambda r, k=k: r[k]["p99_us"] / 1000),
                 (f"{k} cpu s/M", lambda r, k=k: r[k]["cluster_cpu_s_per_m"]),
                 (f"{k} probe max ms", lambda r, k=k: r[k]["probe_max_ms"])]
    rows += [("latency p50 ms", lambda r: r["latency_100b"]["p50_us"] / 1000),
             ("latency p99 ms", lambda r: r["latency_100b"]["p99_us"] / 1000),
             ("latency p99.9 ms", lambda r: r["latency_100b"]["p999_us"] / 1000),
             ("latency probe p99 ms", lambda r: r["latency_100b"]["probe_p99_ms"]),
             ("latency probe max ms", lambda r: r["latency_100b"]["probe_max_ms"]),
             ("failover s", lambda r: r["failover"]["seconds_to_first_ack"])]
    print(f"\nRF=3 acks=all min.insync.replicas=2; three brokers each")
    print_ratios(results, rows)
    save(results, args.out, "replication")


if __name__ == "__main__":
    main()
