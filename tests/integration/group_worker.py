#!/usr/bin/env python3
"""A group consumer for the tests: confluent-kafka or kafka-python,
subscribing with a group id and printing what happens, one line each:
ASSIGNED p,.. / REVOKED p,.. / REC partition offset key / CLOSED.
Commits synchronously after each batch; leaves the group on SIGTERM."""
import argparse
import signal
import sys

stop = False


def on_term(*_):
    global stop
    stop = True


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def parts(tps):
    return ",".join(str(tp.partition) for tp in tps)


def run_confluent(a):
    from confluent_kafka import Consumer
    conf = {"bootstrap.servers": a.bootstrap, "group.id": a.group, "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "session.timeout.ms": a.session_ms,
            "heartbeat.interval.ms": 500, "partition.assignment.strategy": a.assignor}
    if a.instance != "-":
        conf["group.instance.id"] = a.instance
    c = Consumer(conf)
    c.subscribe([a.topic], on_assign=lambda _c, tps: out("ASSIGNED " + parts(tps)),
                on_revoke=lambda _c, tps: out("REVOKED " + parts(tps)))
    while not stop:
        msgs = c.consume(1000, 0.2)
        good = [m for m in msgs if not m.error()]
        if good:
            sys.stdout.write("".join(f"REC {m.partition()} {m.offset()} {m.key().decode()}\n" for m in good))
            sys.stdout.flush()
            c.commit(asynchronous=False)
    c.close()
    out("CLOSED")


def run_kafka_python(a):
    from kafka import KafkaConsumer, ConsumerRebalanceListener
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            out("REVOKED " + parts(revoked))

        def on_partitions_assigned(self, assigned):
            out("ASSIGNED " + parts(assigned))

    assignors = [RoundRobinPartitionAssignor] if a.assignor == "roundrobin" else [RangePartitionAssignor]
    kw = {}
    if a.instance != "-":
        kw["group_instance_id"] = a.instance
    c = KafkaConsumer(bootstrap_servers=a.bootstrap, group_id=a.group, enable_auto_commit=False,
                      auto_offset_reset="earliest", session_timeout_ms=int(a.session_ms),
                      heartbeat_interval_ms=500, partition_assignment_strategy=assignors, **kw)
    c.subscribe([a.topic], listener=Listener())
    while not stop:
        batch = c.poll(timeout_ms=200)
        lines = [f"REC {r.partition} {r.offset} {r.key.decode()}\n" for recs in batch.values() for r in recs]
        if lines:
            sys.stdout.write("".join(lines))
            sys.stdout.flush()
            c.commit()
    c.close()
    out("CLOSED")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("client", choices=["confluent", "kafka-python"])
    ap.add_argument("bootstrap")
    ap.add_argument("topic")
    ap.add_argument("group")
    ap.add_argument("--assignor", default="range")
    ap.add_argument("--instance", default="-")
    ap.add_argument("--session-ms", default="6000")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    (run_confluent if a.client == "confluent" else run_kafka_python)(a)


if __name__ == "__main__":
    main()
