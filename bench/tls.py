#!/usr/bin/env python3
"""Produce and consume throughput over TLS beside PLAINTEXT, samsa and
Apache Kafka (ZooKeeper mode) in one run.

    bench/tls.py [--records 300000] [--size 1024] [--kafka-version 3.9.1]
                 [--targets samsa,kafka] [--out bench/results]

Each broker gets a PLAINTEXT and an SSL listener (a PKCS12 keystore made
by tests/certs.py).  The same librdkafka perf tools
(samsa-producer-perf-test acks=1, samsa-consumer-perf-test) move --records
records of --size bytes through each listener, to and from a fresh topic.
Reported per target and listener: MB/s, broker CPU seconds per GB, and the
loop stall seen meanwhile by a probe sending ApiVersions every 10 ms on the
PLAINTEXT listener (p99 / max ms); then SSL/PLAINTEXT and samsa/Kafka
ratios.  Which TLS path samsa's fetches took is printed too: kernel TLS
with sendfile needs the kernel's "tls" module (setsockopt TCP_ULP); without
it OpenSSL encrypts the file pages (the fallback).  Not part of the test
suite.
"""
import argparse
import os
import socket
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, HERE)
from certs import PASSWORD, TestCerts  # noqa: E402
from compare import add_target_args, print_ratios, run_targets, save  # noqa: E402
from run import CONSUMER_PERF, CONSUMER_PROPS, PRODUCER_PERF, cpu_seconds, create_topic, run  # noqa: E402
from servers import KafkaBroker, SamsaBroker, ZooKeeper, free_port  # noqa: E402
from stalls import Probe  # noqa: E402

TCP_ULP = 31


def kernel_tls_available():
    """Whether this kernel accepts the "tls" upper-layer protocol."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    c = socket.create_connection(srv.getsockname())
    try:
        c.setsockopt(socket.IPPROTO_TCP, TCP_ULP, b"tls")
        return True
    except OSError:
        return False
    finally:
        c.close()
        srv.close()


def client_props(protocol, certs):
    props = {"security.protocol": protocol}
    if protocol == "SSL":
        props["ssl.ca.location"] = certs.ca_pem
    return props


def produce(bootstrap, topic, n, size, props):
    out = run([PRODUCER_PERF, "--topic", topic, "--num-records", str(n), "--record-size",
               str(size), "--throughput", "-1", "--producer-props", f"bootstrap.servers={bootstrap}",
               "acks=1", "linger.ms=5", *(f"{k}={v}" for k, v in props.items())])
    line = [x for x in out.strip().split("\n") if "records/sec" in x][-1]
    return float(line.split("(")[1].split(" MB/sec")[0])


def consume(bootstrap, topic, n, props):
    with tempfile.NamedTemporaryFile("w", suffix=".properties", delete=False) as f:
        f.write("".join(f"{k}={v}\n" for k, v in {**CONSUMER_PROPS, **props}.items()))
        path = f.name
    try:
        out = run([CONSUMER_PERF, "--bootstrap-server", bootstrap, "--topic", topic, "--messages",
                   str(n), "--timeout", "30000", "--hide-header", "--consumer.config", path])
    finally:
        os.unlink(path)
    return float(out.strip().split("\n")[-1].split(",")[3])


def measure(broker, fn):
    """fn()'s result, the broker CPU seconds it took and the probe's view."""
    probe = Probe(broker.port)
    probe.start()
    cpu0 = cpu_seconds(broker.pid)
    value = fn()
    cpu = cpu_seconds(broker.pid) - cpu0
    return value, cpu, probe.finish()


def run_target(target, args, workdir):
    certs = TestCerts(os.path.join(workdir, "certs"))
    zk = ZooKeeper(os.path.join(workdir, "zk"))
    ssl_port = free_port()
    props = {
        "listeners": f"PLAINTEXT://127.0.0.1:{{port}},SSL://127.0.0.1:{ssl_port}",
        "ssl.keystore.type": "PKCS12", "ssl.keystore.location": certs.server_p12,
        "ssl.keystore.password": PASSWORD, "ssl.key.password": PASSWORD,
    }
    broker = (SamsaBroker(zk, workdir, props=props) if target == "samsa"
              else KafkaBroker(zk.connect, workdir, props=props, version=args.kafka_version))
    broker.start()
    out = {}
    gb = args.records * args.size / 1e9
    try:
        for protocol, port in (("PLAINTEXT", broker.port), ("SSL", ssl_port)):
            bootstrap = f"127.0.0.1:{port}"
            topic = f"tls-{protocol.lower()}"
            create_topic(broker.bootstrap, topic, 1)
            cp = client_props(protocol, certs)
            p_mb, p_cpu, p_probe = measure(
                broker, lambda: produce(bootstrap, topic, args.records, args.size, cp))
            c_mb, c_cpu, c_probe = measure(
                broker, lambda: consume(bootstrap, topic, args.records, cp))
            out[protocol] = {"produce_mb_s": p_mb, "produce_cpu_s_per_gb": p_cpu / gb,
                             "produce_probe": p_probe, "consume_mb_s": c_mb,
                             "consume_cpu_s_per_gb": c_cpu / gb, "consume_probe": c_probe}
            print(f"  {target} {protocol}: {out[protocol]}", flush=True)
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
    ktls = kernel_tls_available()
    results = run_targets(args, "tls", run_target)
    results["kernel_tls"] = ktls
    print(f"\n{args.records} records of {args.size} B; samsa's TLS fetch path: "
          f"{'kernel TLS + sendfile' if ktls else 'OpenSSL (no kernel tls module)'}")
    rows = []
    for proto in ("PLAINTEXT", "SSL"):
        rows += [(f"produce MB/s {proto}", lambda r, p=proto: r[p]["produce_mb_s"]),
                 (f"consume MB/s {proto}", lambda r, p=proto: r[p]["consume_mb_s"]),
                 (f"produce CPU s/GB {proto}", lambda r, p=proto: r[p]["produce_cpu_s_per_gb"]),
                 (f"consume CPU s/GB {proto}", lambda r, p=proto: r[p]["consume_cpu_s_per_gb"]),
                 (f"stall max ms {proto}", lambda r, p=proto: max(r[p]["produce_probe"]["max_ms"],
                                                                  r[p]["consume_probe"]["max_ms"]))]
    rows += [("consume SSL/PLAINTEXT", lambda r: r["SSL"]["consume_mb_s"] / r["PLAINTEXT"]["consume_mb_s"]),
             ("produce SSL/PLAINTEXT", lambda r: r["SSL"]["produce_mb_s"] / r["PLAINTEXT"]["produce_mb_s"])]
    print_ratios(results, rows)
    save(results, args.out, "tls")


if __name__ == "__main__":
    main()
