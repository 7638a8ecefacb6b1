#!/usr/bin/env python3
"""Apache Kafka (ZooKeeper mode) as a side-by-side peer for tests and benchmarks.

    bench/kafka_fixture.py fetch [--version 3.9.1]        # download into the cache
    bench/kafka_fixture.py run --zookeeper 127.0.0.1:2181  # start one broker, Ctrl-C stops

The broker and its runtime dependencies come from Maven Central through
`mvn dependency:copy-dependencies` (bench/kafka/pom.xml) into
$SAMSA_CACHE/kafka-<version> (default: <repo>/.cache), outside git.  With a
warm cache nothing is downloaded.  The launcher itself is tests/servers.py
(KafkaBroker), shared by the integration tests and bench/run.py: loopback
only, a fresh ZooKeeper chroot and free ports per broker.
"""
import argparse
import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from servers import CACHE, DEFAULT_KAFKA_VERSION, KafkaBroker, ensure_kafka  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch")
    f.add_argument("--version", default=DEFAULT_KAFKA_VERSION)
    r = sub.add_parser("run")
    r.add_argument("--version", default=DEFAULT_KAFKA_VERSION)
    r.add_argument("--zookeeper", required=True)
    r.add_argument("--dir", default=None)
    args = ap.parse_args()
    if args.cmd == "fetch":
        print(ensure_kafka(args.version))
        return
    workdir = args.dir or os.path.join(CACHE, "kafka-run-" + uuid.uuid4().hex[:6])
    b = KafkaBroker(args.zookeeper, workdir, version=args.version).start()
    print(f"Kafka {args.version} serving on {b.bootstrap} (chroot {b.chroot}, dir {workdir})")
    try:
        b.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        b.stop()


if __name__ == "__main__":
    main()
