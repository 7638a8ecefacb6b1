#!/usr/bin/env python3
"""Memory and latency under hostile clients, samsa beside Apache Kafka
(ZooKeeper mode) in one run.

    bench/hostile.py [--kafka-version 3.9.1] [--targets samsa,kafka] [--out bench/results]

Load, one after another on each broker: 1,000 idle connections (half of
them with half a frame sent), a client that pipelines 200 MB of Metadata
requests and never reads, 400 MB pipelined behind a parked Fetch, and six
connections each sending a 16 MiB frame whose array count the frame cannot
hold.  A probe client sends ApiVersions every 10 ms throughout.  Reported:
peak RSS (VmHWM) of the broker process, RSS before the load, and probe
p50 / p99 / max.  Not part of the test suite.
"""
import argparse
import os
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from kproto import batch, create_topics_v0, fetch_v4, frame, produce_v3, Conn  # noqa: E402
from servers import KafkaBroker, SamsaBroker, ZooKeeper  # noqa: E402
from stalls import Probe  # noqa: E402
from compare import add_target_args, print_ratios, run_targets, save  # noqa: E402
from hostile_load import MB, malformed_metadata_frame, push_until_blocked, send_on_new_connections  # noqa: E402


def status_mb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def idle_connections(port):
    conns = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(1000)]
    for s in conns[::2]:
        s.sendall(struct.pack(">i", 100) + b"\x00\x12")
    time.sleep(2)
    for s in conns:
        s.close()


def never_reader(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    push_until_blocked(s, frame(3, 1, 7, struct.pack(">i", -1)) * 1000, 200 * MB)
    s.close()


def behind_parked_fetch(port, topic):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(frame(1, 4, 1, fetch_v4(topic, 0, 0, 30000, 1 << 30)))
    time.sleep(0.3)
    push_until_blocked(s, frame(0, 3, 2, produce_v3(topic, 0, batch(200, value=b"x" * 4000))) * 8, 400 * MB)
    s.close()


def huge_frames(port):
    for s in send_on_new_connections(port, malformed_metadata_frame(), 6):
        s.close()


def run_target(target, args, workdir):
    zk = ZooKeeper(os.path.join(workdir, "zk"))
    broker = (SamsaBroker(zk, workdir) if target == "samsa"
              else KafkaBroker(zk.connect, workdir, version=args.kafka_version))
    broker.start()
    try:
        c = Conn(broker.port)
        c.request(19, 0, create_topics_v0("hostile", 1, 1))
        c.close()
        time.sleep(1)
        before = status_mb(broker.pid, "VmRSS")
        probe = Probe(broker.port)
        probe.start()
        for step in (lambda: idle_connections(broker.port), lambda: never_reader(broker.port),
                     lambda: behind_parked_fetch(broker.port, "hostile"),
                     lambda: huge_frames(broker.port)):
            step()
        out = probe.finish()
        out["rss_before_mb"] = before
        out["peak_rss_mb"] = status_mb(broker.pid, "VmHWM")
        print(f"  {target}: {out}", flush=True)
        return out
    finally:
        broker.stop()
        zk.stop()


def main():
    ap = argparse.ArgumentParser()
    add_target_args(ap, HERE)
    args = ap.parse_args()
    results = run_targets(args, "hostile", run_target)
    print()
    print_ratios(results, [(m, lambda r, m=m: r[m]) for m in
                           ("rss_before_mb", "peak_rss_mb", "p50_ms", "p99_ms", "max_ms")])
    save(results, args.out, "hostile")


if __name__ == "__main__":
    main()
