#!/usr/bin/env python3
"""samsa vs Apache Kafka (ZooKeeper mode) on the same machine, in one run,
with the same load tools; Redis Streams as the "what users pick instead"
baseline for 100 B produce.

    bench/run.py [--runs 3] [--quick] [--kafka-version 3.9.1] [--out bench/results]

Every figure is measured --runs times per broker (median and min..max
spread), printed as a table with the samsa/Kafka ratio, written as JSON and
drawn as a PNG.  Not part of the test suite.  Needs a build (scripts/build.sh),
the test dependencies (scripts/install-deps.sh) and bench/install-deps.sh.

Cases (settings are printed with the results):
  produce    100 B and 1 KiB records x acks=1/all x 1/6 partitions,
             samsa-producer-perf-test, linger.ms=5, batch.size 1 MB (librdkafka
             default), compression none, no fsync (flush left to the OS)
  consume    samsa-consumer-perf-test over a pre-filled 1-partition topic,
             with iperf3 loopback bandwidth measured in the same run
  latency    100 B, acks=1, 1 partition, linger.ms=5 at 50% of Kafka's
             measured maximum rate: produce p50/p99/p99.9; end-to-end
             (confluent-kafka producer -> consumer) p50/p99
  resources  broker CPU seconds per million messages (100 B produce and the
             consume) and peak RSS (VmHWM) of each broker process
  restart    start to serving on an empty log dir; kill -9 with a few GB of
             log to serving again (ZooKeeper session expiry is waited out
             first for both brokers, so only recovery is timed)

Designed for more brokers: a case lists its replication factor; RF=3 cases
join when samsa replicates.
"""
import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
from kazoo.client import KazooClient  # noqa: E402
from servers import KafkaBroker, SamsaBroker, ZooKeeper, api_versions_ok, free_port, wait_for  # noqa: E402

BUILD = os.environ.get("SAMSA_BUILD", os.path.join(ROOT, "build"))
PRODUCER_PERF = os.path.join(BUILD, "samsa-producer-perf-test")
CONSUMER_PERF = os.path.join(BUILD, "samsa-consumer-perf-test")
TOPICS = os.path.join(BUILD, "samsa-topics")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def run(cmd, timeout=900, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True, **kw).stdout


def create_topic(bootstrap, topic, partitions, rf=1):
    run([TOPICS, "--bootstrap-server", bootstrap, "--create", "--topic", topic,
         "--partitions", str(partitions), "--replication-factor", str(rf)])
    # Kafka elects leaders after answering CreateTopics.
    wait_for(lambda: "Leader: none" not in run([TOPICS, "--bootstrap-server", bootstrap, "--describe",
                                                 "--topic", topic]), 60, "leaders")


def delete_topic(bootstrap, topic):
    subprocess.run([TOPICS, "--bootstrap-server", bootstrap, "--delete", "--topic", topic],
                   capture_output=True, timeout=120)


def producer_perf(bootstrap, topic, n, size, acks, throughput=-1, linger=5):
    out = run([PRODUCER_PERF, "--topic", topic, "--num-records", str(n), "--record-size", str(size),
               "--throughput", str(throughput), "--print-latency-us", "--producer-props",
               f"bootstrap.servers={bootstrap}", f"acks={acks}", f"linger.ms={linger}"])
    lines = out.strip().split("\n")
    summary = [l for l in lines if "records/sec" in l and "99.9th" in l][-1]
    lat = [l for l in lines if l.startswith("latency-us")][-1].split()
    parts = summary.split(",")
    msgs = float(parts[1].split()[0])
    mb = float(parts[1].split("(")[1].split()[0])
    vals = dict(zip(lat[1::2], lat[2::2]))
    return {"msgs_s": msgs, "mb_s": mb, "p50_us": int(vals["p50"]), "p99_us": int(vals["p99"]),
            "p999_us": int(vals["p99.9"]), "avg_us": float(vals["avg"])}


CONSUMER_PROPS = {
    # librdkafka stops fetching once 100k messages wait in its local queue and
    # backs off for up to a second; a deeper queue keeps the measurement about
    # the broker.  Same settings for every broker.
    "queued.min.messages": "2000000",
    "queued.max.messages.kbytes": "524288",
}


def consumer_perf(bootstrap, topic, n):
    with tempfile.NamedTemporaryFile("w", suffix=".properties", delete=False) as f:
        f.write("".join(f"{k}={v}\n" for k, v in CONSUMER_PROPS.items()))
        props = f.name
    try:
        out = run([CONSUMER_PERF, "--bootstrap-server", bootstrap, "--topic", topic, "--messages", str(n),
                   "--timeout", "20000", "--hide-header", "--consumer.config", props])
    finally:
        os.unlink(props)
    f = [x.strip() for x in out.strip().split("\n")[-1].split(",")]
    return {"mb_s": float(f[3]), "msgs_s": float(f[5]), "fetch_mb_s": float(f[8]),
            "fetch_msgs_s": float(f[9])}


def end_to_end_latency(bootstrap, topic, n, rate):
    """confluent-kafka producer -> consumer latency (CreateTime to receipt)."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "e2e-" + uuid.uuid4().hex[:6],
                  "fetch.wait.max.ms": 100, "fetch.min.bytes": 1, "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, -1)])  # from the end
    c.poll(1.0)
    lat = []
    done = threading.Event()

    def consume():
        while len(lat) < n and not done.is_set():
            m = c.poll(0.2)
            if m is None or m.error():
                continue
            lat.append(time.time() * 1000.0 - float(m.value().decode().split(":")[0]))

    t = threading.Thread(target=consume)
    t.start()
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": 1})
    start = time.time()
    for i in range(n):
        due = start + i / rate
        while time.time() < due:
            time.sleep(max(0.0, min(0.001, due - time.time())))
        p.produce(topic, value=f"{time.time() * 1000.0:.3f}:".encode() + b"x" * 80)
        p.poll(0)
    p.flush(60)
    t.join(60)
    done.set()
    c.close()
    lat.sort()
    if not lat:
        return {"e2e_p50_ms": None, "e2e_p99_ms": None}
    return {"e2e_p50_ms": lat[len(lat) // 2], "e2e_p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))]}


def loopback_bandwidth_mb_s():
    port = free_port()
    srv = subprocess.Popen(["iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        out = json.loads(run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", "3", "-J"]))
        return out["end"]["sum_received"]["bits_per_second"] / 8 / 1024 / 1024
    finally:
        srv.kill()
        srv.wait()


def redis_streams_baseline(n, runs):
    port = free_port()
    d = tempfile.mkdtemp(prefix="samsa-bench-redis-")
    srv = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                            "--appendonly", "no", "--dir", d], stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True,
                                        text=True).stdout.strip() == "PONG", 30, "redis")
        results = []
        for _ in range(runs):
            cpu0 = cpu_seconds(srv.pid)
            out = run(["redis-benchmark", "-p", str(port), "-n", str(n), "-P", "100", "-q",
                       "XADD", "bench", "*", "v", "x" * 100])
            cpu1 = cpu_seconds(srv.pid)
            rps = float(out.strip().split(":")[-1].split()[0])
            results.append({"msgs_s": rps, "mb_s": rps * 100 / 1024 / 1024,
                            "cpu_s_per_m": (cpu1 - cpu0) / (n / 1e6)})
            subprocess.run(["redis-cli", "-p", str(port), "del", "bench"], capture_output=True)
        return results, peak_rss_mb(srv.pid)
    finally:
        srv.terminate()
        srv.wait()
        shutil.rmtree(d, ignore_errors=True)


def time_to_serving(broker, topic=None):
    """Seconds from process start to answering ApiVersions (and, with a
    topic, to reporting a leader for it)."""
    t0 = time.time()
    broker.start(wait=False)
    def ready():
        if broker.proc.poll() is not None:
            raise RuntimeError(f"{broker.kind} exited: {broker.log_text()[-2000:]}")
        return api_versions_ok(broker.port)
    wait_for(ready, 600, "serving")
    if topic:
        wait_for(lambda: "Leader: 0" in subprocess.run(
            [TOPICS, "--bootstrap-server", broker.bootstrap, "--describe", "--topic", topic],
            capture_output=True, text=True).stdout, 600, "leader after restart")
    return time.time() - t0


def summarize(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "runs": vals}


class Bench:
    def __init__(self, args):
        self.args = args
        self.scale = 0.1 if args.quick else 1.0
        self.results = {"cases": {}, "settings": {}, "machine": {}}
        self.work = tempfile.mkdtemp(prefix="samsa-bench-")
        self.zk = None

    def record(self, case, kind, metric, values):
        self.results["cases"].setdefault(case, {}).setdefault(kind, {})[metric] = summarize(values)

    def new_broker(self, kind, **kw):
        d = os.path.join(self.work, f"{kind}-{uuid.uuid4().hex[:6]}")
        os.makedirs(d)
        if kind == "samsa":
            return SamsaBroker(self.zk, d, **kw)
        return KafkaBroker(self.zk.connect, d, version=self.args.kafka_version, **kw)

    def produce_cases(self, kind, broker):
        n100 = int(1_000_000 * self.scale)
        n1k = int(300_000 * self.scale)
        for size, n in ((100, n100), (1024, n1k)):
            for acks in ("1", "all"):
                for parts in (1, 6):
                    case = f"produce {size}B acks={acks} p={parts} rf=1"
                    vals, cpu = [], []
                    for _ in range(self.args.runs):
                        topic = "perf-" + uuid.uuid4().hex[:8]
                        create_topic(broker.bootstrap, topic, parts)
                        c0 = cpu_seconds(broker.pid)
                        r = producer_perf(broker.bootstrap, topic, n, size, acks)
                        cpu.append((cpu_seconds(broker.pid) - c0) / (n / 1e6))
                        vals.append(r)
                        delete_topic(broker.bootstrap, topic)
                    self.record(case, kind, "msgs_s", [v["msgs_s"] for v in vals])
                    self.record(case, kind, "mb_s", [v["mb_s"] for v in vals])
                    self.record(case, kind, "cpu_s_per_m", cpu)
                    print(f"  {kind:6} {case:32} {statistics.median(v['msgs_s'] for v in vals):12.0f} msgs/s",
                          flush=True)

    def consume_case(self, kind, broker):
        n = int(1_000_000 * self.scale)
        topic = "fill-" + uuid.uuid4().hex[:8]
        create_topic(broker.bootstrap, topic, 1)
        producer_perf(broker.bootstrap, topic, n, 100, "1")
        vals, cpu = [], []
        for _ in range(self.args.runs):
            c0 = cpu_seconds(broker.pid)
            vals.append(consumer_perf(broker.bootstrap, topic, n))
            cpu.append((cpu_seconds(broker.pid) - c0) / (n / 1e6))
        case = "consume 100B p=1"
        for m in ("msgs_s", "mb_s"):
            self.record(case, kind, m, [v[m] for v in vals])
        self.record(case, kind, "cpu_s_per_m", cpu)
        delete_topic(broker.bootstrap, topic)
        print(f"  {kind:6} {case:32} {statistics.median(v['msgs_s'] for v in vals):12.0f} msgs/s", flush=True)

    def latency_case(self, kind, broker, rate):
        n = max(int(rate * 10 * self.scale), 1000)
        vals, e2e = [], []
        for _ in range(self.args.runs):
            topic = "lat-" + uuid.uuid4().hex[:8]
            create_topic(broker.bootstrap, topic, 1)
            vals.append(producer_perf(broker.bootstrap, topic, n, 100, "1", throughput=int(rate)))
            e2e.append(end_to_end_latency(broker.bootstrap, topic, max(int(2000 * self.scale), 500), 1000))
            delete_topic(broker.bootstrap, topic)
        case = f"latency 100B acks=1 p=1 @{int(rate)}/s"
        self.results["settings"]["latency_rate"] = int(rate)
        for m in ("p50_us", "p99_us", "p999_us"):
            self.record(case, kind, m, [v[m] for v in vals])
        case_e2e = "end-to-end latency 100B @1000/s"
        for m in ("e2e_p50_ms", "e2e_p99_ms"):
            self.record(case_e2e, kind, m, [v[m] for v in e2e])
        print(f"  {kind:6} {case:32} p99 {statistics.median(v['p99_us'] for v in vals)} us", flush=True)

    def restart_case(self, kind):
        start_vals, recover_vals = [], []
        gb = self.args.restart_gb * (0.1 if self.args.quick else 1.0)
        for _ in range(self.args.runs):
            b = self.new_broker(kind)
            start_vals.append(time_to_serving(b))
            topic = "big-" + uuid.uuid4().hex[:8]
            create_topic(b.bootstrap, topic, 2)
            n = int(gb * 1024 * 1024)  # 1 KiB records
            producer_perf(b.bootstrap, topic, n, 1024, "1")
            b.kill9()
            zk = KazooClient(hosts=self.zk.connect)
            zk.start(30)
            try:
                wait_for(lambda: not zk.exists(f"{b.chroot}/brokers/ids/0"), 120,
                         "the killed broker's session to expire")
            finally:
                zk.stop()
                zk.close()
            recover_vals.append(time_to_serving(b, topic))
            b.stop()
            shutil.rmtree(b.dir, ignore_errors=True)
        self.record("start to serving (empty)", kind, "seconds", start_vals)
        self.record(f"kill -9 to serving ({gb:.1f} GB log)", kind, "seconds", recover_vals)
        print(f"  {kind:6} restart: start {statistics.median(start_vals):.2f}s, "
              f"recover {statistics.median(recover_vals):.2f}s", flush=True)

    def run(self):
        a = self.args
        self.results["machine"] = {"cpus": os.cpu_count(), "kernel": platform.release(),
                                   "date": time.strftime("%Y-%m-%d %H:%M:%S")}
        self.results["settings"] = {
            "runs": a.runs, "quick": a.quick, "kafka_version": a.kafka_version,
            "producer": "samsa-producer-perf-test (librdkafka), linger.ms=5, compression none, "
                        "batch.size librdkafka default (1 MB)",
            "consumer": "samsa-consumer-perf-test (librdkafka), partitions assigned, "
                        + ", ".join(f"{k}={v}" for k, v in CONSUMER_PROPS.items()),
            "fsync": "none (log.flush.* unset on both: the OS writes back)",
            "kafka_jvm": "-Xmx1g -Xms1g -XX:+UseG1GC",
            "replication_factor": 1,
        }
        self.zk = ZooKeeper(os.path.join(self.work, "zk"))
        try:
            print("loopback bandwidth (iperf3)...", flush=True)
            lb = [loopback_bandwidth_mb_s() for _ in range(a.runs)]
            self.results["loopback_mb_s"] = summarize(lb)
            peaks = {}
            for kind in ("kafka", "samsa"):
                print(f"== {kind}", flush=True)
                b = self.new_broker(kind).start()
                try:
                    self.produce_cases(kind, b)
                    self.consume_case(kind, b)
                    if kind == "kafka":
                        kafka_max = self.results["cases"]["produce 100B acks=1 p=1 rf=1"]["kafka"]["msgs_s"]["median"]
                        self.rate = kafka_max * 0.5
                    self.latency_case(kind, b, self.rate)
                    peaks[kind] = peak_rss_mb(b.pid)
                finally:
                    b.stop()
            for kind, mb in peaks.items():
                self.record("peak RSS", kind, "mb", [mb])
            print("== redis streams", flush=True)
            rr, rss = redis_streams_baseline(int(1_000_000 * self.scale), a.runs)
            case = "produce 100B acks=1 p=1 rf=1"
            for m in ("msgs_s", "mb_s", "cpu_s_per_m"):
                self.record(case, "redis", m, [r[m] for r in rr])
            self.record("peak RSS", "redis", "mb", [rss])
            if not a.skip_restart:
                for kind in ("kafka", "samsa"):
                    self.restart_case(kind)
        finally:
            self.zk.stop()
            shutil.rmtree(self.work, ignore_errors=True)
        return self.results


def fmt(v, metric):
    if v is None:
        return "-"
    m = v["median"]
    spread = f" ({v['min']:.3g}..{v['max']:.3g})" if len(v["runs"]) > 1 else ""
    if metric in ("msgs_s",):
        return f"{m:,.0f}{spread}"
    return f"{m:.3g}{spread}"


def table(results):
    lines = ["| case | metric | samsa | Kafka | samsa/Kafka | Redis Streams |", "|---|---|---|---|---|---|"]
    for case, kinds in results["cases"].items():
        metrics = []
        for k in kinds.values():
            for m in k:
                if m not in metrics:
                    metrics.append(m)
        for m in metrics:
            s = kinds.get("samsa", {}).get(m)
            k = kinds.get("kafka", {}).get(m)
            r = kinds.get("redis", {}).get(m)
            ratio = f"{s['median'] / k['median']:.2f}" if s and k and k["median"] else "-"
            lines.append(f"| {case} | {m} | {fmt(s, m)} | {fmt(k, m)} | {ratio} | {fmt(r, m)} |")
    lb = results.get("loopback_mb_s")
    if lb:
        lines.append(f"| loopback (iperf3) | mb_s | {fmt(lb, 'mb_s')} | | | |")
        cons = results["cases"].get("consume 100B p=1", {})
        share = {k: (cons.get(k, {}).get("mb_s") or {}).get("median", 0) / lb["median"] for k in ("samsa", "kafka")}
        lines.append(f"| consume 100B p=1 | share of loopback bandwidth | {share['samsa']:.1%} | "
                     f"{share['kafka']:.1%} | {share['samsa'] / share['kafka']:.2f} | |"
                     if share["kafka"] else "")
    return "\n".join(lines)


def chart(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cases = [c for c in results["cases"] if c.startswith("produce") or c.startswith("consume")]
    fig, axes = plt.subplots(1, 2, figsize=(15, 6), gridspec_kw={"width_ratios": [3, 1]})
    ax = axes[0]
    width = 0.28
    for i, kind in enumerate(("samsa", "kafka", "redis")):
        vals = [(results["cases"][c].get(kind, {}).get("msgs_s") or {}).get("median", 0) for c in cases]
        ax.bar([x + (i - 1) * width for x in range(len(cases))], vals, width,
               label={"samsa": "samsa", "kafka": "Apache Kafka", "redis": "Redis Streams"}[kind])
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels([c.replace(" rf=1", "") for c in cases], rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("messages / second (median)")
    ax.set_title("Throughput, same machine, same client")
    ax.legend()
    ax2 = axes[1]
    metrics = [("peak RSS", "mb", "peak RSS MB")]
    labels, s_vals, k_vals = [], [], []
    for case, metric, label in metrics:
        c = results["cases"].get(case, {})
        labels.append(label)
        s_vals.append((c.get("samsa", {}).get(metric) or {}).get("median", 0))
        k_vals.append((c.get("kafka", {}).get(metric) or {}).get("median", 0))
    ax2.bar([0 - 0.2], s_vals, 0.4, label="samsa")
    ax2.bar([0 + 0.2], k_vals, 0.4, label="Apache Kafka")
    ax2.set_xticks([0])
    ax2.set_xticklabels(labels)
    ax2.set_title("Broker memory")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="a tenth of the data, for a smoke run")
    ap.add_argument("--kafka-version", default=os.environ.get("KAFKA_VERSION", "3.9.1"))
    ap.add_argument("--restart-gb", type=float, default=2.0)
    ap.add_argument("--skip-restart", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    for exe in (PRODUCER_PERF, CONSUMER_PERF, TOPICS):
        if not os.path.exists(exe):
            sys.exit(f"{exe} is missing: run scripts/build.sh first")
    for tool in ("iperf3", "redis-server", "redis-benchmark"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run bench/install-deps.sh first")
    res = Bench(args).run()
    os.makedirs(args.out, exist_ok=True)
    tag = "quick" if args.quick else "latest"
    with open(os.path.join(args.out, f"{tag}.json"), "w") as f:
        json.dump(res, f, indent=2)
    md = table(res)
    with open(os.path.join(args.out, f"{tag}.md"), "w") as f:
        f.write(md + "\n")
    chart(res, os.path.join(args.out, f"{tag}.png"))
    print()
    print(md)


if __name__ == "__main__":
    main()
