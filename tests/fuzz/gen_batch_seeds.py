#!/usr/bin/env python3
"""Writes the batch fuzzer's seed corpus: records fields as clients produce
them (kafka-python's encoder), uncompressed and with each codec, keyed and
keyless, one and several batches, and legacy (magic 0/1) messages as an
older Kafka's log holds them, each prefixed by the fuzzer's flags byte
(bit 0: compacted topic).

    tests/fuzz/gen_batch_seeds.py OUT_DIR      (make fuzz-seeds)
"""
import os
import sys

from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.legacy_records import LegacyRecordBatchBuilder

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def batch(n, codec, keys=True, headers=False, value=b"value"):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=codec, is_transactional=False,
                                  producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                  batch_size=1 << 20)
    for i in range(n):
        b.append(i, timestamp=1700000000000 + i, key=(b"k%d" % i) if keys else None,
                 value=value * (i % 3 + 1), headers=[("h", b"x")] if headers else [])
    return bytes(b.build())


def legacy(magic, codec, n=3):
    """A legacy message set (magic 0/1) as an older Kafka stored it."""
    b = LegacyRecordBatchBuilder(magic=magic, compression_type=codec, batch_size=1 << 20)
    for i in range(n):
        b.append(100 + i, timestamp=1700000000000 + i if magic else None, key=b"k%d" % i,
                 value=b"value")
    return bytes(b.build())


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    n = 0
    for name, codec in CODECS.items():
        for keys in (True, False):
            for compacted in (0, 1):
                for records in (1, 7):
                    data = bytes([compacted]) + batch(records, codec, keys, headers=records > 1)
                    path = os.path.join(out, f"{name}-{'keyed' if keys else 'keyless'}-"
                                             f"{'compact' if compacted else 'delete'}-{records}")
                    with open(path, "wb") as f:
                        f.write(data)
                    n += 1
    with open(os.path.join(out, "two-batches"), "wb") as f:
        f.write(b"\x00" + batch(2, 0) + batch(3, 1))
    for magic in (0, 1):
        for name in ("none", "gzip"):
            with open(os.path.join(out, f"legacy-v{magic}-{name}"), "wb") as f:
                f.write(b"\x00" + legacy(magic, CODECS[name]) + batch(2, 0))
            n += 1
    print(f"{n + 1} seeds written to {out}")


if __name__ == "__main__":
    main()
