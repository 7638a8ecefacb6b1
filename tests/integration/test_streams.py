"""Kafka Streams 3.9 (from Maven Central) with exactly_once_v2 against the
broker: WordCount with its record cache off turns every input word into one
(word, count) record, so its read_committed output is fixed by the input.
The application is killed -9 while input keeps arriving and started again
on the same state directory (same process id, so its transactional
producer fences the dead one's); the output must still be exactly the
model's: no count lost, none repeated, none out of order.  The same test
runs against Kafka (SAMSA_TEST_TARGET=kafka), so both brokers give Streams
the same output."""
import os
import random
import re
import subprocess
import threading
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import CACHE, ROOT, unique, wait_for
from servers import stop_process
from test_clients import create_topic

STREAMS_DIR = os.path.join(ROOT, "tests", "integration", "streams")
VOCABULARY = ["w%02d" % i for i in range(40)]
LINES = 1500


@pytest.fixture(scope="session")
def streams_classpath():
    libdir = os.path.join(CACHE, "streams-lib")
    classes = os.path.join(CACHE, "streams-classes")
    if not os.path.isdir(libdir) or not os.listdir(libdir):
        subprocess.run(["mvn", "-q", "-B", "-Dstyle.color=never", "-f",
                        os.path.join(STREAMS_DIR, "pom.xml"), "dependency:copy-dependencies",
                        f"-DoutputDirectory={libdir}"], check=True)
    os.makedirs(classes, exist_ok=True)
    subprocess.run(["javac", "-d", classes, "-cp", libdir + "/*",
                    os.path.join(STREAMS_DIR, "src/main/java/WordCountEos.java")], check=True)
    return f"{classes}:{libdir}/*"


def input_lines():
    rnd = random.Random(7)
    return [" ".join(rnd.choice(VOCABULARY) for _ in range(rnd.randint(1, 6))) for _ in range(LINES)]


def expected_output(lines):
    """What WordCount emits for these lines, in order: (word, running count)."""
    counts, out = {}, []
    for line in lines:
        for word in re.split(r"\W+", line.lower()):
            counts[word] = counts.get(word, 0) + 1
            out.append((word, str(counts[word])))
    return out


class WordCount:
    """One WordCount process; stopped by the test, by pid."""

    def __init__(self, classpath, bootstrap, app, inp, out, state_dir, log_path):
        self.cmd = ["java", "-Xmx256m", f"-Dlog4j.configuration=file:{log_path}.log4j", "-cp",
                    classpath, "WordCountEos", bootstrap, app, inp, out, state_dir]
        with open(f"{log_path}.log4j", "w") as f:
            f.write("log4j.rootLogger=INFO, f\nlog4j.appender.f=org.apache.log4j.FileAppender\n"
                    f"log4j.appender.f.File={log_path}\n"
                    "log4j.appender.f.layout=org.apache.log4j.PatternLayout\n"
                    "log4j.appender.f.layout.ConversionPattern=[%d] %p %m (%c)%n\n")
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL,
                                     stderr=open(log_path + ".err", "a"))

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        stop_process(self.proc)


class OutputReader:
    """A read_committed consumer of the output topic that keeps what it read."""

    def __init__(self, bootstrap, topic):
        self.c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g"),
                           "enable.auto.commit": False, "isolation.level": "read_committed"})
        self.c.assign([TopicPartition(topic, 0, 0)])
        self.records = []

    def poll(self):
        for m in self.c.consume(1000, 0.2):
            assert m.error() is None, m.error()
            self.records.append((m.key().decode(), m.value().decode()))
        return len(self.records)

    def close(self):
        self.c.close()


def produce_lines(bootstrap, topic, lines, seconds):
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    step = max(1, len(lines) // 50)
    for i in range(0, len(lines), step):
        for line in lines[i:i + step]:
            p.produce(topic, value=line.encode(), partition=0)
        p.poll(0)
        time.sleep(seconds / 50)
    assert p.flush(30) == 0


def test_wordcount_exactly_once_v2_survives_kill9(broker, tmp_path, streams_classpath):
    app, inp, out = unique("wordcount"), unique("lines"), unique("counts")
    create_topic(broker.bootstrap, inp, 1)
    create_topic(broker.bootstrap, out, 1)
    lines = input_lines()
    want = expected_output(lines)
    state_dir = str(tmp_path / "state")
    log = str(tmp_path / "streams.log")
    reader = OutputReader(broker.bootstrap, out)
    first = second = None
    try:
        produce_lines(broker.bootstrap, inp, lines[:LINES // 3], 0)
        first = WordCount(streams_classpath, broker.bootstrap, app, inp, out, state_dir, log)
        wait_for(lambda: reader.poll() > 0, 120, "WordCount's first committed counts")
        # Input keeps arriving; the application dies in the middle of it.
        feeder = threading.Thread(target=produce_lines,
                                  args=(broker.bootstrap, inp, lines[LINES // 3:], 6))
        feeder.start()
        time.sleep(2)
        first.kill9()
        assert reader.poll() < len(want), "the kill came after WordCount had finished"
        feeder.join()
        second = WordCount(streams_classpath, broker.bootstrap, app, inp, out, state_dir, log)
        wait_for(lambda: reader.poll() >= len(want), 180, "all of WordCount's counts")
        time.sleep(1)
        reader.poll()           # nothing beyond the model may follow
        got = reader.records
        assert len(got) == len(want), f"{len(got)} counts where the model has {len(want)}"
        first_wrong = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)
        assert first_wrong is None, f"count {first_wrong}: {got[first_wrong]} != {want[first_wrong]}"
    finally:
        reader.close()
        for w in (first, second):
            if w is not None:
                w.stop()
