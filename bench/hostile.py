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
import json
import os
import socket
import struct
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from kproto import batch, create_topics_v0, fetch_v4, frame, produce_v3, Conn  # noqa: E402
from servers import KafkaBroker, SamsaBroker, ZooKeeper  # noqa: E402
from stalls import Probe  # noqa: E402

MB = 1 << 20


def status_mb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def push(sock, chunk, limit, stall_s=2.0):
    sock.setblocking(False)
    sent, last, view = 0, time.time(), memoryview(chunk)
    while sent < limit and time.time() - last < stall_s:
        try:
            sent += sock.send(view[sent % len(chunk):])
            last = time.time()
        except BlockingIOError:
            time.sleep(0.01)
    return sent


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
    push(s, frame(3, 1, 7, struct.pack(">i", -1)) * 1000, 200 * MB)
    s.close()


def behind_parked_fetch(port, topic):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(frame(1, 4, 1, fetch_v4(topic, 0, 0, 30000, 1 << 30)))
    time.sleep(0.3)
    push(s, frame(0, 3, 2, produce_v3(topic, 0, batch(200, value=b"x" * 4000))) * 8, 400 * MB)
    s.close()


def huge_frames(port):
    size = 16 * MB
    body_len = size - 15
    bad = struct.pack(">ihhih", size, 3, 1, 1, 5) + b"flood" + struct.pack(">i", (body_len - 4) // 2)
    bad += b"\xff" * (size + 4 - len(bad))
    conns = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(6)]
    threads = [threading.Thread(target=s.sendall, args=(bad,)) for s in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for s in conns:
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
    ap.add_argument("--kafka-version", default="3.9.1")
    ap.add_argument("--targets", default="samsa,kafka")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    results = {"settings": vars(args)}
    for target in args.targets.split(","):
        with tempfile.TemporaryDirectory(prefix=f"hostile-{target}-") as d:
            print(f"== {target}", flush=True)
            results[target] = run_target(target, args, d)
    print(f"\n{'metric':14} {'samsa':>10} {'kafka':>10} {'samsa/kafka':>12}")
    for metric in ("rss_before_mb", "peak_rss_mb", "p50_ms", "p99_ms", "max_ms"):
        s = results.get("samsa", {}).get(metric)
        k = results.get("kafka", {}).get(metric)
        ratio = f"{s / k:.2f}" if s is not None and k else "-"
        print(f"{metric:14} {s if s is None else round(s, 2):>10} "
              f"{k if k is None else round(k, 2):>10} {ratio:>12}")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "hostile.json"), "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
