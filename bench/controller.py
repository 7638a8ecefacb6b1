#!/usr/bin/env python3
"""The controller at scale: failover with many partitions and the controlled
shutdown of a broker leading many partitions, samsa beside Apache Kafka
(ZooKeeper mode) in one run.

    bench/controller.py [--failover 10000,100000] [--shutdown 10000]
                        [--kafka-version 3.9.1] [--targets samsa,kafka]
                        [--out bench/results]

failover  Two real brokers (0, 1) and two stand-in brokers (100, 101, see
          sink_broker.py) that register in ZooKeeper and answer the
          controller's requests without storing anything.  N partitions in
          topics of 100 partitions, replicas [100, 101] or [101, 100],
          created by writing topic znodes (as `kafka-topics --zookeeper`).
          Broker 0, the controller, is killed with SIGKILL; broker 1 takes
          over once ZooKeeper expires the session (6 s).  Measured: from the
          new /controller znode's creation (ZooKeeper's ctime) to the moment
          both stand-ins have received LeaderAndIsr and UpdateMetadata of the
          new controller epoch naming all N partitions, and the CPU seconds
          the new controller spent from the kill until then.
shutdown  Three real brokers: 0 is the controller and hosts nothing, 1 leads
          N partitions that 2 follows (replicas [1, 2]).  An acks=all
          producer keeps writing to one partition.  SIGTERM to broker 1:
          seconds until its process exits (the controlled shutdown moves every
          leadership to broker 2 first), and the producer's delivery errors.
Not part of the test suite.
"""
import argparse
import base64
import json
import os
import signal
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, HERE)
from cluster import Cluster  # noqa: E402
from compare import add_target_args, print_ratios, run_targets, save  # noqa: E402
from run import cpu_seconds  # noqa: E402
from servers import ZooKeeper, wait_for  # noqa: E402
from sink_broker import LEADER_AND_ISR, UPDATE_METADATA, SinkBroker  # noqa: E402

PER_TOPIC = 100
ZK_HEAP = "2g"      # 100,000 partitions are 200,000 znodes
PROPS = {"zookeeper.session.timeout.ms": "6000", "num.partitions": "1",
         "auto.create.topics.enable": "false"}


def create_topics(zkc, chroot, prefix, partitions, replicas_of):
    """Topic and config znodes for `partitions` partitions in topics of
    PER_TOPIC, pipelined; replicas_of(i) gives partition i's replicas."""
    pending, names = [], []
    for t in range((partitions + PER_TOPIC - 1) // PER_TOPIC):
        name = f"{prefix}-{t}"
        n = min(PER_TOPIC, partitions - t * PER_TOPIC)
        tid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        topic = {"version": 3, "topic_id": tid, "adding_replicas": {}, "removing_replicas": {},
                 "partitions": {str(p): replicas_of(t * PER_TOPIC + p) for p in range(n)}}
        pending.append(zkc.create_async(f"{chroot}/config/topics/{name}",
                                        b'{"version":1,"config":{}}'))
        pending.append(zkc.create_async(f"{chroot}/brokers/topics/{name}",
                                        json.dumps(topic).encode()))
        names.append(name)
        if len(pending) >= 400:
            for p in pending:
                p.get(60)
            pending = []
    for p in pending:
        p.get(60)
    return names


def controller_epoch(c):
    return int(c.zkc.get(f"{c.chroot}/controller_epoch")[0])


def sinks_covered(sinks, epoch, n):
    """The latest time at which every sink had both requests for all n
    partitions from `epoch`, or None."""
    last = 0.0
    for s in sinks:
        for key in (LEADER_AND_ISR, UPDATE_METADATA):
            at, _ = s.covered_at(key, epoch, n)
            if at is None:
                return None
            last = max(last, at)
    return last


def failover(target, workdir, n):
    zk = ZooKeeper(os.path.join(workdir, "zk"), heap=ZK_HEAP)
    c = Cluster(zk, workdir, [target] * 2, props=PROPS)
    sinks = []
    try:
        c.start()
        c.zkc.ensure_path(f"{c.chroot}/config/topics")
        sinks = [SinkBroker(c.zkc, c.chroot, i) for i in (100, 101)]
        for s in sinks:
            s.register()
        wait_for(lambda: c.controller() == 0, 60, "broker 0 to be the controller")
        t0 = time.time()
        create_topics(c.zkc, c.chroot, "fo", n, lambda i: [100, 101] if i % 2 else [101, 100])
        epoch = controller_epoch(c)
        wait_for(lambda: sinks_covered(sinks, epoch, n), 900, f"LeaderAndIsr for {n} partitions")
        print(f"  {target} {n} partitions created in {time.time() - t0:.1f} s", flush=True)
        time.sleep(2)
        cpu0 = cpu_seconds(c.broker(1).pid)
        zk_cpu0 = cpu_seconds(zk.proc.pid)
        killed = time.time()
        c.kill9(0)
        wait_for(lambda: c.controller() == 1, 120, "broker 1 to take over")
        elected = c.zkc.exists(f"{c.chroot}/controller").ctime / 1000.0
        epoch = controller_epoch(c)
        done = wait_for(lambda: sinks_covered(sinks, epoch, n), 900,
                        f"the new controller's requests for {n} partitions")
        cpu = cpu_seconds(c.broker(1).pid) - cpu0
        out = {"partitions": n, "elected_to_done_s": done - elected, "kill_to_done_s": done - killed,
               "new_controller_cpu_s": cpu, "zookeeper_cpu_s": cpu_seconds(zk.proc.pid) - zk_cpu0}
        print(f"  {target} failover {n}: {out}", flush=True)
        return out
    finally:
        for s in sinks:
            s.close()
        c.stop()
        zk.stop()


def count_led_by(bootstrap, topics, leader, isr_size):
    """Partitions of topics led by `leader` with an ISR of isr_size."""
    from confluent_kafka.admin import AdminClient
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=30)
    n = 0
    for t in topics:
        tm = md.topics.get(t)
        if tm is None or tm.error is not None:
            continue
        n += sum(1 for p in tm.partitions.values() if p.leader == leader and len(p.isrs) == isr_size)
    return n


def hosted(broker, prefix):
    """Partition directories in the broker's log directory."""
    try:
        return sum(1 for d in os.listdir(broker.logdir) if d.startswith(prefix))
    except FileNotFoundError:
        return 0


def shutdown(target, workdir, n):
    from confluent_kafka import Producer
    zk = ZooKeeper(os.path.join(workdir, "zk"), heap=ZK_HEAP)
    c = Cluster(zk, workdir, [target] * 3, props=PROPS)
    try:
        c.start()
        wait_for(lambda: c.controller() == 0, 60, "broker 0 to be the controller")
        c.zkc.ensure_path(f"{c.chroot}/config/topics")
        t0 = time.time()
        topics = create_topics(c.zkc, c.chroot, "cs", n, lambda i: [1, 2])
        b0 = c.broker(0).bootstrap
        wait_for(lambda: count_led_by(b0, topics, 1, 2) == n, 900, f"{n} partitions led by broker 1")
        wait_for(lambda: all(hosted(c.broker(i), "cs-") == n for i in (1, 2)), 900,
                 f"{n} logs on brokers 1 and 2")
        print(f"  {target} {n} partitions created in {time.time() - t0:.1f} s", flush=True)
        errors, acked, stop = [], [], threading.Event()
        p = Producer({"bootstrap.servers": b0, "acks": "all", "linger.ms": 0,
                      "enable.idempotence": True})

        def send():
            while not stop.is_set():
                p.produce(topics[0], b"x", partition=0, on_delivery=lambda err, m:
                          errors.append(str(err)) if err else acked.append(m.offset()))
                p.poll(0)
                time.sleep(0.005)
        th = threading.Thread(target=send, daemon=True)
        th.start()
        wait_for(lambda: len(acked) > 100, 60, "records acknowledged")
        started = time.time()
        os.kill(c.broker(1).pid, signal.SIGTERM)
        c.broker(1).proc.wait(600)
        seconds = time.time() - started
        # Kafka gives up after controlled.shutdown.max.retries and exits
        # anyway: partitions whose ISR had lost broker 2 are left offline.
        moved = 0
        deadline = time.time() + 60
        while time.time() < deadline and moved < n:
            moved = count_led_by(b0, topics, 2, 1)
            time.sleep(1)
        time.sleep(2)
        stop.set()
        th.join()
        p.flush(30)
        out = {"partitions": n, "sigterm_to_exit_s": seconds, "producer_errors": len(errors),
               "partitions_not_moved": n - moved}
        print(f"  {target} controlled shutdown {n}: {out} {errors[:3]}", flush=True)
        return out
    finally:
        c.stop()
        zk.stop()


def run_target(target, args, workdir):
    out = {}
    for n in [int(x) for x in args.failover.split(",") if x]:
        out[f"failover_{n}"] = failover(target, os.path.join(workdir, f"fo{n}"), n)
    for n in [int(x) for x in args.shutdown.split(",") if x]:
        out[f"shutdown_{n}"] = shutdown(target, os.path.join(workdir, f"cs{n}"), n)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--failover", default="10000,100000")
    ap.add_argument("--shutdown", default="10000")
    add_target_args(ap, HERE)
    args = ap.parse_args()
    results = run_targets(args, "controller", run_target)
    rows = []
    for n in [int(x) for x in args.failover.split(",") if x]:
        k = f"failover_{n}"
        rows += [(f"failover {n} s", lambda r, k=k: r[k]["elected_to_done_s"]),
                 (f"  kill->done {n} s", lambda r, k=k: r[k]["kill_to_done_s"]),
                 (f"  new ctrl cpu {n} s", lambda r, k=k: r[k]["new_controller_cpu_s"])]
    for n in [int(x) for x in args.shutdown.split(",") if x]:
        k = f"shutdown_{n}"
        rows += [(f"ctrl shutdown {n} s", lambda r, k=k: r[k]["sigterm_to_exit_s"]),
                 (f"  producer errors", lambda r, k=k: float(r[k]["producer_errors"])),
                 (f"  left without leader", lambda r, k=k: float(r[k]["partitions_not_moved"]))]
    print("\nController failover (elected -> all LeaderAndIsr/UpdateMetadata received) and "
          "controlled shutdown (SIGTERM -> exit)")
    print_ratios(results, rows)
    save(results, args.out, "controller")


if __name__ == "__main__":
    main()
