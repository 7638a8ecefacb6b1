#!/usr/bin/env python3
"""How close to the floor: broker CPU per record against a minimal relay,
and consume throughput against loopback bandwidth, samsa beside Apache
Kafka (ZooKeeper mode) in one run.

    bench/floor.py [--records 3000000] [--batch-records 1000] [--record-size 100]
                   [--consume-mb 2048] [--fetchers 4] [--kafka-version 3.9.1]
                   [--targets samsa,kafka] [--out bench/results]

produce  One client sends the same stream of Produce v7 requests (acks=1,
         uncompressed batches of --batch-records records of --record-size
         bytes, pipelined on one connection) to each target: the relay
         (bench/relay.c: reads each frame, write(2)s it to a file, answers
         with 8 bytes), samsa and Kafka.  Reported: records/s and server CPU
         seconds per million records, and each broker's CPU as a multiple
         of the relay's (the floor).
consume  --consume-mb of the same batches over --fetchers partitions, read
         back by --fetchers processes that send raw Fetch v4 requests (32 MiB
         per response) and walk only batch headers, so the clients are not
         the bottleneck; reported as MB/s and as a share of the loopback
         bandwidth iperf3 measures in the same run, with the broker's CPU
         seconds per GB.
Not part of the test suite.
"""
import argparse
import multiprocessing
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, HERE)
from kafka.record.default_records import DefaultRecordBatchBuilder  # noqa: E402
from servers import KafkaBroker, SamsaBroker, ZooKeeper, free_port  # noqa: E402
from compare import add_target_args, save  # noqa: E402
from run import cpu_seconds, create_topic, loopback_bandwidth_mb_s  # noqa: E402

MB = 1024 * 1024


def kstr(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def record_batch(n, size):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False,
                                  producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                  batch_size=1 << 30)
    now = int(time.time() * 1000)
    for i in range(n):
        b.append(i, timestamp=now, key=None, value=b"x" * size, headers=[])
    return bytes(b.build())


def produce_body(topic, partition, batch):
    return (struct.pack(">hhi", -1, 1, 30000) + struct.pack(">i", 1) + kstr(topic) +
            struct.pack(">ii", 1, partition) + struct.pack(">i", len(batch)) + batch)


def request(api_key, version, corr, body):
    hdr = struct.pack(">hhi", api_key, version, corr) + kstr("floor")
    return struct.pack(">i", len(hdr) + len(body)) + hdr + body


def read_exact(sock, n):
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        r = sock.recv_into(view[got:], n - got)
        if r == 0:
            raise ConnectionError("closed by the server")
        got += r
    return buf


def produce_error(resp, topic):
    """Error code of the one partition in a Produce v7 response (after the
    correlation id); the relay's empty answer counts as success."""
    if len(resp) <= 4:
        return 0
    pos = 4 + 4 + 2 + len(topic.encode()) + 4 + 4
    return struct.unpack_from(">h", resp, pos)[0]


def send_stream(port, topic, partition, batch, n_requests):
    """Sends n_requests Produce requests pipelined; waits for every answer."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    body = produce_body(topic, partition, batch)
    errors = []

    def reader():
        for _ in range(n_requests):
            (size,) = struct.unpack(">i", read_exact(sock, 4))
            resp = read_exact(sock, size)
            err = produce_error(resp, topic)
            if err:
                errors.append(err)
                return
    t = threading.Thread(target=reader)
    t.start()
    start = time.time()
    chunk = 16
    for first in range(0, n_requests, chunk):
        sock.sendall(b"".join(request(0, 7, c, body) for c in range(first, min(first + chunk, n_requests))))
        if errors:
            break
    t.join()
    took = time.time() - start
    sock.close()
    if errors:
        raise RuntimeError(f"produce failed with error {errors[0]}")
    return took


def produce_case(name, pid, port, topic, args, batch):
    n_requests = args.records // args.batch_records
    c0 = cpu_seconds(pid)
    took = send_stream(port, topic, 0, batch, n_requests)
    cpu = cpu_seconds(pid) - c0
    records = n_requests * args.batch_records
    r = {"records_s": records / took, "cpu_s_per_m": cpu / (records / 1e6), "seconds": took}
    print(f"  produce {name:6} {r['records_s']:12,.0f} records/s  {r['cpu_s_per_m']:.3f} CPU s per M",
          flush=True)
    return r


def relay_case(args, batch, workdir):
    exe = os.path.join(workdir, "relay")
    subprocess.run(["cc", "-O2", "-o", exe, os.path.join(HERE, "relay.c")], check=True)
    port = free_port()
    proc = subprocess.Popen([exe, str(port), os.path.join(workdir, "relay.out")], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        return produce_case("relay", proc.pid, port, "relay", args, batch)
    finally:
        proc.kill()
        proc.wait()


def fetch_body(topic, partition, offset, max_bytes):
    return (struct.pack(">iiiib", -1, 500, 1, max_bytes, 0) + struct.pack(">i", 1) + kstr(topic) +
            struct.pack(">iiqi", 1, partition, offset, max_bytes))


def next_offset(records, offset):
    """Offset after the last whole batch in a Fetch response's records."""
    pos = 0
    while pos + 61 <= len(records):
        base, length = struct.unpack_from(">qi", records, pos)
        if pos + 12 + length > len(records):
            break
        (delta,) = struct.unpack_from(">i", records, pos + 23)
        offset = base + delta + 1
        pos += 12 + length
    return offset


def fetcher(port, topic, partition, end_offset, out):
    """One consumer: raw Fetch v4 until end_offset; puts bytes and times."""
    sock = socket.create_connection(("127.0.0.1", port))
    offset, corr, total = 0, 0, 0
    start = time.time()
    while offset < end_offset:
        corr += 1
        sock.sendall(request(1, 4, corr, fetch_body(topic, partition, offset, 32 * MB)))
        (size,) = struct.unpack(">i", read_exact(sock, 4))
        resp = read_exact(sock, size)
        # corr, throttle, [topic [partition, error, hw, lso, aborted[], records]]
        pos = 4 + 4 + 4 + 2 + len(topic.encode()) + 4
        _, err, _, _, n_aborted = struct.unpack_from(">ihqqi", resp, pos)
        if err:
            raise RuntimeError(f"fetch error {err}")
        pos += 4 + 2 + 8 + 8 + 4 + max(n_aborted, 0) * 16
        (rlen,) = struct.unpack_from(">i", resp, pos)
        records = memoryview(resp)[pos + 4:pos + 4 + max(rlen, 0)]
        total += len(records)
        offset = next_offset(records, offset)
    out.put((start, time.time(), total))
    sock.close()


def consume_case(name, broker, args, batch):
    topic = "floor-consume"
    create_topic(broker.bootstrap, topic, args.fetchers)
    per_part = max(1, int(args.consume_mb * MB / len(batch) / args.fetchers))
    for p in range(args.fetchers):
        send_stream(broker.port, topic, p, batch, per_part)
    end = per_part * args.batch_records
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=fetcher, args=(broker.port, topic, p, end, q))
             for p in range(args.fetchers)]
    c0 = cpu_seconds(broker.pid)
    for pr in procs:
        pr.start()
    got = [q.get(timeout=600) for _ in procs]
    for pr in procs:
        pr.join()
    cpu = cpu_seconds(broker.pid) - c0
    total = sum(g[2] for g in got)
    took = max(g[1] for g in got) - min(g[0] for g in got)
    r = {"mb_s": total / MB / took, "cpu_s_per_gb": cpu / (total / 1024 / MB), "mb": total / MB}
    print(f"  consume {name:6} {r['mb_s']:10,.0f} MB/s  {r['cpu_s_per_gb']:.3f} CPU s per GB", flush=True)
    return r


def broker_cases(target, args, batch, workdir):
    zk = ZooKeeper(os.path.join(workdir, "zk"))
    os.makedirs(os.path.join(workdir, "b"), exist_ok=True)
    try:
        if target == "samsa":
            b = SamsaBroker(zk, os.path.join(workdir, "b"))
        else:
            b = KafkaBroker(zk.connect, os.path.join(workdir, "b"), version=args.kafka_version)
        b.start()
        try:
            create_topic(b.bootstrap, "floor", 1)
            produce = produce_case(target, b.pid, b.port, "floor", args, batch)
            consume = consume_case(target, b, args, batch)
        finally:
            b.stop()
        return {"produce": produce, "consume": consume}
    finally:
        zk.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=3_000_000)
    ap.add_argument("--batch-records", type=int, default=1000)
    ap.add_argument("--record-size", type=int, default=100)
    ap.add_argument("--consume-mb", type=int, default=2048)
    ap.add_argument("--fetchers", type=int, default=4)
    add_target_args(ap, HERE)
    args = ap.parse_args()
    batch = record_batch(args.batch_records, args.record_size)
    results = {"settings": {k: v for k, v in vars(args).items() if k != "out"}}
    results["settings"]["batch_bytes"] = len(batch)
    with tempfile.TemporaryDirectory(prefix="floor-") as d:
        print("== loopback (iperf3)", flush=True)
        results["loopback_mb_s"] = loopback_bandwidth_mb_s()
        print("== relay", flush=True)
        results["relay"] = relay_case(args, batch, d)
    for target in args.targets.split(","):
        with tempfile.TemporaryDirectory(prefix=f"floor-{target}-") as d:
            print(f"== {target}", flush=True)
            results[target] = broker_cases(target, args, batch, d)
    floor = results["relay"]["cpu_s_per_m"]
    lb = results["loopback_mb_s"]
    print(f"\nloopback {lb:,.0f} MB/s; relay {floor:.3f} CPU s per M records")
    print(f"{'target':8} {'records/s':>12} {'CPU s/M':>9} {'x floor':>8} {'consume MB/s':>13} "
          f"{'of loopback':>12} {'CPU s/GB':>9}")
    for t in args.targets.split(","):
        p, c = results[t]["produce"], results[t]["consume"]
        p["multiple_of_floor"] = p["cpu_s_per_m"] / floor
        c["share_of_loopback"] = c["mb_s"] / lb
        print(f"{t:8} {p['records_s']:12,.0f} {p['cpu_s_per_m']:9.3f} {p['multiple_of_floor']:8.2f} "
              f"{c['mb_s']:13,.0f} {c['share_of_loopback']:12.1%} {c['cpu_s_per_gb']:9.3f}")
    if "samsa" in results and "kafka" in results:
        s, k = results["samsa"], results["kafka"]
        print(f"samsa/kafka: produce CPU {s['produce']['cpu_s_per_m'] / k['produce']['cpu_s_per_m']:.2f}, "
              f"consume MB/s {s['consume']['mb_s'] / k['consume']['mb_s']:.2f}")
    save(results, args.out, "floor")


if __name__ == "__main__":
    main()
