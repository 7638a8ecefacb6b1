"""Hostile clients: pipelined bytes behind a parked request, clients that
never read their responses, floods of huge frames, a thousand idle
connections.  The broker's memory stays bounded (for samsa: its resident
set, read from /proc) and every other client is served throughout."""
import socket
import struct
import time

import pytest

from conftest import is_samsa, unique
from kproto import (Conn, api_versions_v0, batch, create_topics_v0, fetch_v4, frame,
                    parse_create_topics_v0, produce_v3)
from hostile_load import MB, malformed_metadata_frame, push_until_blocked, send_on_new_connections


def rss_mb(broker):
    with open(f"/proc/{broker.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def make_topic(broker, name, partitions=1):
    c = Conn(broker.port)
    res = parse_create_topics_v0(c.request(19, 0, create_topics_v0(name, partitions, 1)))
    c.close()
    assert res[name] == 0


def served(broker):
    """A fresh client gets an answer within a second."""
    c = Conn(broker.port)
    c.s.settimeout(1.0)
    t0 = time.time()
    err, keys = api_versions_v0(c)
    c.close()
    return err == 0 and 0 in keys and time.time() - t0 < 1.0


def test_bytes_pipelined_behind_a_parked_fetch_are_not_read(broker):
    topic = unique("parked")
    make_topic(broker, topic)
    c = Conn(broker.port)
    c.s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 256 * 1024)
    before = rss_mb(broker) if is_samsa(broker) else 0
    # Parks for 15 s: nothing to read and a minimum the topic cannot reach.
    c.send_raw(frame(1, 4, 1, fetch_v4(topic, 0, 0, 15000, 1 << 30)))
    time.sleep(0.3)
    produce = frame(0, 3, 2, produce_v3(topic, 0, batch(200, value=b"x" * 4000)))
    taken = push_until_blocked(c.s, produce * 8, 400 * MB)
    # Only socket buffers' worth gets in while the fetch is parked.
    assert taken < 48 * MB, f"broker read {taken / MB:.0f} MB behind a parked fetch"
    assert served(broker)
    if is_samsa(broker):
        assert rss_mb(broker) - before < 64
    c.close()


def test_client_that_never_reads_its_responses(broker):
    topics = [unique("noread") for _ in range(20)]
    for t in topics:
        make_topic(broker, t, 4)
    c = Conn(broker.port)
    c.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    before = rss_mb(broker) if is_samsa(broker) else 0
    # Metadata v1 for every topic, pipelined, never read: each response is
    # larger than its request.
    req = frame(3, 1, 7, struct.pack(">i", -1))
    taken = push_until_blocked(c.s, req * 1000, 200 * MB)
    assert taken < 200 * MB, "broker kept reading from a client that never reads"
    assert served(broker)
    if is_samsa(broker):
        grown = rss_mb(broker) - before
        assert grown < 64, f"RSS grew {grown:.0f} MB for a client that never reads"
    c.close()


def test_flood_of_huge_malformed_frames(broker):
    before = rss_mb(broker) if is_samsa(broker) else 0
    # Metadata v1 whose topic count fits the frame but whose names are
    # garbage: refused without allocating count x sizeof(element).
    conns = send_on_new_connections(broker.port, malformed_metadata_frame(), 6)
    for s in conns:
        s.settimeout(30)
        try:
            assert s.recv(1) == b""
        except ConnectionResetError:
            pass
        s.close()
    assert served(broker)
    if is_samsa(broker):
        assert "malformed Metadata v1 request" in broker.log_text()
        grown = rss_mb(broker) - before
        assert grown < 512, f"RSS grew {grown:.0f} MB after six 16 MiB frames"


def test_thousand_idle_connections(broker):
    before = rss_mb(broker) if is_samsa(broker) else 0
    idle = []
    try:
        for _ in range(1000):
            idle.append(socket.create_connection(("127.0.0.1", broker.port), timeout=10))
        # Half of them send half a frame and stop.
        for s in idle[::2]:
            s.sendall(struct.pack(">i", 100) + b"\x00\x12")
        assert served(broker)
        if is_samsa(broker):
            grown = rss_mb(broker) - before
            assert grown < 64, f"RSS grew {grown:.0f} MB for 1000 idle connections"
    finally:
        for s in idle:
            s.close()
    assert served(broker)


@pytest.mark.parametrize("pool", ["4194304"])
def test_request_memory_pool_bounds_frames_in_flight(make_broker, pool):
    """queued.max.request.bytes: with the pool used up, further frames wait
    until memory comes back, and all of them are answered in the end."""
    b = make_broker(props={"queued.max.request.bytes": pool,
                           "socket.request.max.bytes": pool}).start()
    topic = unique("pool")
    make_topic(b, topic)
    payload = frame(0, 3, 1, produce_v3(topic, 0, batch(100, value=b"y" * 10000)))
    conns = [Conn(b.port) for _ in range(8)]
    for c in conns:
        c.send_raw(payload)
    for c in conns:
        body = c.read_response(1)
        assert struct.unpack_from(">h", body, 4 + 2 + len(topic) + 4 + 4)[0] == 0
        c.close()
    assert served(b)


def test_idle_connections_are_closed(make_broker):
    """connections.max.idle.ms (Kafka's default is 10 minutes): a client
    that goes quiet past it is disconnected; one that keeps talking is not."""
    b = make_broker(props={"connections.max.idle.ms": "2000"}).start()
    idle, busy = Conn(b.port), Conn(b.port)
    assert api_versions_v0(idle)[0] == 0
    deadline = time.time() + 5
    while time.time() < deadline:
        assert api_versions_v0(busy)[0] == 0
        time.sleep(0.5)
    assert idle.closed_by_peer(timeout=1)
    assert api_versions_v0(busy)[0] == 0
    idle.close()
    busy.close()


def answered(conn, timeout):
    """Whether an ApiVersions request gets its answer within timeout s."""
    conn.s.settimeout(timeout)
    try:
        return api_versions_v0(conn)[0] == 0
    except (socket.timeout, ConnectionError):
        return False


def test_connections_per_address_are_capped(make_broker):
    """max.connections.per.ip (and its overrides): past the limit a new
    connection from the address is closed at once; closing one makes room."""
    b = make_broker(props={"max.connections.per.ip": "100",
                           "max.connections.per.ip.overrides": "127.0.0.1:3"}).start()
    # The broker may hold connections to itself (its controller channel).
    conns = []
    while True:
        c = Conn(b.port)
        if c.closed_by_peer(timeout=1):
            c.close()
            break
        assert answered(c, 10)
        conns.append(c)
        assert len(conns) <= 3
    extra = Conn(b.port)
    assert extra.closed_by_peer(timeout=5)
    extra.close()
    conns.pop().close()
    time.sleep(0.5)
    again = Conn(b.port)
    assert answered(again, 10)
    again.close()
    for c in conns:
        c.close()


def test_a_listener_at_max_connections_waits_for_a_free_slot(make_broker):
    """max.connections: a listener at the limit stops accepting (the client
    waits, as with Kafka's acceptor) until a connection closes; the
    inter-broker listener is not held by it."""
    from servers import free_port
    client_port = free_port()
    b = make_broker(props={
        "listeners": f"PLAINTEXT://127.0.0.1:{{port}},CLIENT://127.0.0.1:{client_port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CLIENT:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT", "max.connections": "3"}).start()
    # Every connection counts, the broker's own (its controller channel) too.
    held = []
    while True:
        waiting = Conn(client_port)
        if not answered(waiting, 2):
            break
        held.append(waiting)
        assert len(held) <= 3
    assert len(held) >= 1
    inter_broker = Conn(b.port)
    assert answered(inter_broker, 10)          # the inter-broker listener still serves
    inter_broker.close()
    held.pop().close()
    waiting.s.settimeout(10)
    (size,) = struct.unpack(">i", waiting.read_exact(4))     # the delayed answer arrives
    assert size > 0
    for c in held + [waiting]:
        c.close()


def test_connection_limits_change_at_runtime(make_broker):
    """max.connections.per.ip.overrides is a dynamic broker config in Kafka:
    set cluster-wide with kafka-configs, it applies to new connections
    without a restart; the connections already open stay."""
    from test_configs import config_command
    from conftest import wait_for
    b = make_broker().start()
    held = [Conn(b.port) for _ in range(3)]
    for c in held:
        assert answered(c, 10)
    config_command("3.9.1", "--bootstrap-server", b.bootstrap, "--alter", "--add-config",
                   "max.connections.per.ip.overrides=[127.0.0.1:2]", "--entity-type", "brokers",
                   "--entity-default")

    def refused():
        c = Conn(b.port)
        closed = c.closed_by_peer(timeout=1)
        c.close()
        return closed
    wait_for(refused, 30, "new connections from 127.0.0.1 to be refused")
    for c in held:
        assert answered(c, 10)
        c.close()
