"""The partition a request reaches: the client's current leader epoch is
checked (UNKNOWN_LEADER_EPOCH for an epoch newer than the leader's, as
Kafka answers), latest offsets are the high watermark, and a parked fetch
is answered when its topic is deleted."""
import struct
import time

from kproto import Conn, batch, create_topics_v0, frame, kstr, parse_create_topics_v0, produce_v3
from conftest import unique

UNKNOWN_LEADER_EPOCH = 75


def make_topic(broker):
    name = unique("part")
    c = Conn(broker.port)
    assert parse_create_topics_v0(c.request(19, 0, create_topics_v0(name, 1, 1)))[name] == 0
    # Kafka elects the leader just after answering CreateTopics.
    for _ in range(100):
        if list_offsets_v4(c, name, 0, -1)[0] == 0:
            break
        time.sleep(0.1)
    c.close()
    return name


def list_offsets_v4(conn, topic, epoch, timestamp):
    body = struct.pack(">ib", -1, 0) + struct.pack(">i", 1) + kstr(topic)
    body += struct.pack(">i", 1) + struct.pack(">iiq", 0, epoch, timestamp)
    resp = conn.request(2, 4, body)
    pos = 4 + 4
    (tl,) = struct.unpack_from(">h", resp, pos)
    pos += 2 + tl + 4
    _part, err, _ts, offset, leader_epoch = struct.unpack_from(">ihqqi", resp, pos)
    return err, offset, leader_epoch


def fetch_v9_body(topic, epoch, offset, max_wait_ms=0, min_bytes=1):
    body = struct.pack(">iiiib", -1, max_wait_ms, min_bytes, 1 << 20, 0) + struct.pack(">ii", 0, -1)
    body += struct.pack(">i", 1) + kstr(topic) + struct.pack(">i", 1)
    body += struct.pack(">iiqqi", 0, epoch, offset, -1, 1 << 20)
    return body + struct.pack(">i", 0)


def fetch_v9_error(resp):
    pos = 4 + 2 + 4 + 4
    (tl,) = struct.unpack_from(">h", resp, pos)
    pos += 2 + tl + 4
    _part, err, hw = struct.unpack_from(">ihq", resp, pos)
    return err, hw


def test_current_leader_epoch_is_checked(broker):
    topic = make_topic(broker)
    c = Conn(broker.port)
    err, _, epoch = list_offsets_v4(c, topic, -1, -1)
    assert err == 0 and epoch >= 0
    assert list_offsets_v4(c, topic, epoch, -1)[0] == 0
    assert list_offsets_v4(c, topic, epoch + 5, -1)[0] == UNKNOWN_LEADER_EPOCH
    assert fetch_v9_error(c.request(1, 9, fetch_v9_body(topic, epoch, 0)))[0] == 0
    assert fetch_v9_error(c.request(1, 9, fetch_v9_body(topic, epoch + 5, 0)))[0] == UNKNOWN_LEADER_EPOCH
    c.close()


def test_latest_offset_is_the_high_watermark(broker):
    topic = make_topic(broker)
    c = Conn(broker.port)
    for _ in range(3):
        c.request(0, 3, produce_v3(topic, 0, batch(4)))
    err, latest, _ = list_offsets_v4(c, topic, -1, -1)
    assert (err, latest) == (0, 12)
    assert fetch_v9_error(c.request(1, 9, fetch_v9_body(topic, -1, 0)))[1] == 12
    c.close()


def test_parked_fetch_wakes_on_produce_to_one_of_its_partitions(broker):
    topic = make_topic(broker)
    c = Conn(broker.port)
    c.corr += 1
    corr = c.corr
    t0 = time.time()
    c.send_raw(frame(1, 9, corr, fetch_v9_body(topic, -1, 0, max_wait_ms=20000, min_bytes=1)))
    time.sleep(0.3)
    p = Conn(broker.port)
    p.request(0, 3, produce_v3(topic, 0, batch(2)))
    err, hw = fetch_v9_error(c.read_response(corr))
    assert (err, hw) == (0, 2)
    assert time.time() - t0 < 10, "the parked fetch waited for its timeout"
    p.close()
    c.close()
