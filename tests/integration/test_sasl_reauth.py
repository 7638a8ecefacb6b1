"""KIP-368 (connections.max.reauth.ms) on a SASL/SCRAM listener: the
SaslAuthenticate answer carries the session lifetime, a client
re-authenticates on its connection (same mechanism, same principal, or
Kafka's errors), and a connection whose session ended without that is
closed at its next request.  confluent-kafka keeps producing across
several sessions.  Runs against Kafka with SAMSA_TEST_TARGET=kafka."""
import struct
import time

import pytest

from conftest import is_samsa, stop_cleanly, unique
from servers import wait_for
from test_scram import (add_user, ck_scram, exchange, login_error, sasl_auth_frame,
                        start_scram_broker)
from test_security import _closed, _handshake, api_versions_answered

LIFETIME_MS = 3000


@pytest.fixture(scope="module")
def reauth_broker(zookeeper, tmp_path_factory):
    b = start_scram_broker(zookeeper, str(tmp_path_factory.mktemp("reauth")),
                           **{"connections.max.reauth.ms": str(LIFETIME_MS)})
    b.users = {}
    for name in ("ann", "ben"):
        user = unique(name)
        add_user(b, user, f"SCRAM-SHA-256=[password={name}-secret],"
                          f"SCRAM-SHA-512=[password={name}-secret]")
        b.users[name] = user
    for name, user in b.users.items():
        wait_for(lambda: login_error(ck_scram(b, "SCRAM-SHA-256", user, f"{name}-secret")) is None,
                 30, "the credentials to be usable")
    yield b
    stop_cleanly(b)


def metadata_frame():
    body = struct.pack(">i", -1)
    frame = struct.pack(">hhi", 3, 1, 5) + struct.pack(">h", 9) + b"sasl-test" + body
    return struct.pack(">i", len(frame)) + frame


def test_an_expired_session_is_closed_at_its_next_request(reauth_broker):
    b = reauth_broker
    err, msg, s, lifetime = exchange(b.sasl_port, "SCRAM-SHA-256", b.users["ann"], "ann-secret")
    assert (err, lifetime) == (0, LIFETIME_MS)
    assert api_versions_answered(s)
    time.sleep(LIFETIME_MS / 1000 + 0.5)
    s.sendall(metadata_frame())
    assert _closed(s)
    s.close()
    if is_samsa(b):
        wait_for(lambda: "Disconnecting expired channel" in b.log_text(), 10, "the log line")


def test_reauthentication_on_the_same_connection(reauth_broker):
    b = reauth_broker
    ann, ben = b.users["ann"], b.users["ben"]
    err, msg, s, lifetime = exchange(b.sasl_port, "SCRAM-SHA-256", ann, "ann-secret")
    assert err == 0
    time.sleep(LIFETIME_MS / 1000 + 0.5)
    # A SaslHandshake starts a re-authentication even after the session ended.
    err, msg, s, lifetime = exchange(b.sasl_port, "SCRAM-SHA-256", ann, "ann-secret", sock=s)
    assert (err, lifetime) == (0, LIFETIME_MS)
    assert api_versions_answered(s)
    # Within a second of the last one, no re-authentication starts.
    err, msg, s, _ = exchange(b.sasl_port, "SCRAM-SHA-256", ann, "ann-secret", sock=s)
    assert (err, msg) == (34, "SaslAuthenticate request received after successful authentication")
    time.sleep(1.1)
    # Another principal: Kafka's message, then closed.
    err, msg, s, _ = exchange(b.sasl_port, "SCRAM-SHA-256", ben, "ben-secret", sock=s)
    assert (err, msg) == (58, f"Cannot change principals during re-authentication from "
                              f"User.{ann}: User.{ben}")
    assert _closed(s)
    s.close()
    # Another mechanism: the handshake is answered, the first token closes
    # the connection.
    err, msg, s, _ = exchange(b.sasl_port, "SCRAM-SHA-256", ann, "ann-secret")
    assert err == 0
    assert _handshake(s, "SCRAM-SHA-512")[1] == 0
    s.sendall(sasl_auth_frame(f"n,,n={ann},r=abc".encode()))
    assert _closed(s)
    s.close()
    if is_samsa(b):
        wait_for(lambda: "SASL mechanism 'SCRAM-SHA-512' requested by client is not supported "
                 "for re-authentication of mechanism 'SCRAM-SHA-256'" in b.log_text(), 10, "log")


def test_confluent_kafka_keeps_producing_across_sessions(reauth_broker):
    from confluent_kafka import Producer
    b = reauth_broker
    conf = ck_scram(b, "SCRAM-SHA-512", b.users["ann"], "ann-secret")
    topic = unique("reauth")
    expired_before = b.log_text().count("Disconnecting expired channel") if is_samsa(b) else 0
    errors, delivered = [], []
    p = Producer(dict(conf, error_cb=lambda e: errors.append(e.str())))
    deadline = time.time() + 3 * LIFETIME_MS / 1000
    i = 0
    while time.time() < deadline:
        p.produce(topic, b"v%d" % i, partition=0,
                  on_delivery=lambda e, m: delivered.append(e is None))
        p.poll(0.2)
        i += 1
    assert p.flush(30) == 0
    assert delivered == [True] * i and not errors, errors
    if is_samsa(b):     # re-authenticated, never cut off
        assert b.log_text().count("Disconnecting expired channel") == expired_before
