#!/usr/bin/env python3
"""A consume-transform-produce worker with exactly-once semantics
(confluent-kafka transactions), for the tests: reads the input topic at
read_committed from the group's committed offsets, and for each batch
writes the records to the same partition of the output topic and commits
the consumed offsets in the same transaction.  Exits 1 on a fatal error
(fenced by a newer instance, broker gone for good); the test kills it -9
at random points and starts another with the same transactional.id.

    eos_worker.py BOOTSTRAP INPUT OUTPUT PARTITIONS GROUP TRANSACTIONAL_ID

Batches are small and paced (30 records, 50 ms apart) so that kills land
in the middle of the stream.
"""
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition


def main():
    bootstrap, src, dst, n, group, tid = sys.argv[1:7]
    n = int(n)
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": tid, "linger.ms": 5,
                  "transaction.timeout.ms": 10000})
    p.init_transactions(60)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                  "isolation.level": "read_committed", "auto.offset.reset": "earliest"})
    parts = [TopicPartition(src, i) for i in range(n)]

    def rewind():
        committed = c.committed(parts, timeout=30)
        c.assign([TopicPartition(src, tp.partition, max(tp.offset, 0)) for tp in committed])
    rewind()
    while True:
        msgs = [m for m in c.consume(30, 0.5) if not m.error()]
        if not msgs:
            continue
        try:
            p.begin_transaction()
            for m in msgs:
                p.produce(dst, key=m.key(), value=m.value(), partition=m.partition())
            p.send_offsets_to_transaction(c.position(parts), c.consumer_group_metadata(), 30)
            p.commit_transaction(30)
        except KafkaException as e:
            err = e.args[0]
            if err.txn_requires_abort():
                p.abort_transaction(30)
                rewind()
                continue
            if err.retriable():
                rewind()
                continue
            print("FATAL", err, flush=True)
            sys.exit(1)
        print("COMMITTED", len(msgs), flush=True)
        time.sleep(0.05)


if __name__ == "__main__":
    main()
