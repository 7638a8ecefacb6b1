#!/usr/bin/env python3
"""What validating compressed batches costs: broker CPU seconds per MB of
compressed input, samsa beside Apache Kafka (ZooKeeper mode) in one run.

    bench/compression.py [--records 300000] [--size 1024] [--kafka-version 3.9.1]
                         [--targets samsa,kafka] [--out bench/results]

For each codec (gzip, snappy, lz4, zstd) the same librdkafka producer
(samsa-producer-perf-test, acks=1, linger.ms=5, compression.type=<codec>)
sends --records records of --size bytes (random capital letters, the perf
tool's payload) to a fresh topic.  Both brokers decompress every batch to
validate it (Kafka's LogValidator; samsa's record_stream.c) and store it
compressed as it came.  Reported per codec: compressed MB stored, broker
CPU seconds per compressed MB and per GB before compression.  The perf
tool repeats one payload, so batches compress far better than real data
(gzip about 120x): the per-MB figures are high, the per-GB ones low.  Not
part of the test suite.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
from compare import add_target_args, print_ratios, run_targets, save  # noqa: E402
from run import PRODUCER_PERF, cpu_seconds, create_topic  # noqa: E402
from servers import KafkaBroker, SamsaBroker, ZooKeeper  # noqa: E402

CODECS = ("gzip", "snappy", "lz4", "zstd")


def dir_mb(path):
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files if f.endswith(".log"))
    return total / 1e6


def produce(bootstrap, topic, n, size, codec):
    subprocess.run([PRODUCER_PERF, "--topic", topic, "--num-records", str(n), "--record-size",
                    str(size), "--throughput", "-1", "--producer-props",
                    f"bootstrap.servers={bootstrap}", "acks=1", "linger.ms=5",
                    f"compression.type={codec}"],
                   check=True, capture_output=True, timeout=900)


def run_target(target, args, workdir):
    zk = ZooKeeper(os.path.join(workdir, "zk"))
    broker = (SamsaBroker(zk, workdir) if target == "samsa"
              else KafkaBroker(zk.connect, workdir, version=args.kafka_version))
    broker.start()
    out = {}
    try:
        for codec in CODECS:
            topic = f"compressed-{codec}"
            create_topic(broker.bootstrap, topic, 1)
            cpu0 = cpu_seconds(broker.pid)
            produce(broker.bootstrap, topic, args.records, args.size, codec)
            cpu = cpu_seconds(broker.pid) - cpu0
            mb = dir_mb(os.path.join(broker.logdir, f"{topic}-0"))
            raw_mb = args.records * args.size / 1e6
            out[codec] = {"compressed_mb": mb, "cpu_s": cpu, "cpu_s_per_mb": cpu / mb if mb else None,
                          "cpu_s_per_raw_gb": cpu / raw_mb * 1000}
            print(f"  {target} {codec}: {out[codec]}", flush=True)
    finally:
        broker.stop()
        zk.stop()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=300000)
    ap.add_argument("--size", type=int, default=1024)
    add_target_args(ap, HERE)
    args = ap.parse_args()
    results = run_targets(args, "compression", run_target)
    print(f"\n{args.records} records of {args.size} B per codec; broker CPU per compressed MB")
    print_ratios(results, [(f"{c} cpu_s_per_mb", lambda r, c=c: r[c]["cpu_s_per_mb"]) for c in CODECS] +
                 [(f"{c} cpu_s_per_raw_gb", lambda r, c=c: r[c]["cpu_s_per_raw_gb"]) for c in CODECS] +
                 [(f"{c} compressed_mb", lambda r, c=c: r[c]["compressed_mb"]) for c in CODECS])
    save(results, args.out, "compression")


if __name__ == "__main__":
    main()
