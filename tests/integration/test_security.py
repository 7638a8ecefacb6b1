"""Security as Kafka deployments configure it: TLS listeners next to
PLAINTEXT ones, keystores in PKCS12 and PEM (KIP-651), per-listener keys
(listener.name.<l>.ssl.*), client certificates, and metadata that answers
with the endpoints of the listener a client came in on.  Independent
clients (confluent-kafka, kafka-python, the Java client) run against samsa
and, with SAMSA_TEST_TARGET=kafka, against Kafka."""
import os
import socket
import ssl
import struct
import subprocess
import sys
import time

import pytest

from conftest import ROOT, assert_refuses_to_start, is_samsa, new_broker, samsa_only, stop_cleanly, unique
from servers import free_port, wait_for

sys.path.insert(0, os.path.join(ROOT, "tests"))
from certs import PASSWORD, TestCerts  # noqa: E402


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return TestCerts(str(tmp_path_factory.mktemp("certs")))


@pytest.fixture(scope="module")
def secure_broker(zookeeper, tmp_path_factory, certs):
    """PLAINTEXT, SSL (PKCS12 keystore, no client certificates) and MTLS
    (an SSL listener with a PEM keystore that requires client
    certificates, set through listener.name.mtls.*)."""
    ssl_port, mtls_port = free_port(), free_port()
    props = {
        "listeners": f"PLAINTEXT://127.0.0.1:{{port}},SSL://127.0.0.1:{ssl_port},"
                     f"MTLS://127.0.0.1:{mtls_port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.name.ssl.ssl.keystore.type": "PKCS12",
        "listener.name.ssl.ssl.keystore.location": certs.server_p12,
        "listener.name.ssl.ssl.keystore.password": PASSWORD,
        "listener.name.ssl.ssl.key.password": PASSWORD,
        "ssl.truststore.type": "PKCS12",
        "ssl.truststore.location": certs.truststore_p12,
        "ssl.truststore.password": PASSWORD,
        # An unencrypted PEM key: no passwords (Kafka refuses a keystore
        # password with PEM).
        "listener.name.mtls.ssl.client.auth": "required",
        "listener.name.mtls.ssl.keystore.type": "PEM",
        "listener.name.mtls.ssl.keystore.location": certs.server_pem,
    }
    b = new_broker(zookeeper, str(tmp_path_factory.mktemp("secure")), props=props).start()
    b.ssl_port, b.mtls_port = ssl_port, mtls_port
    yield b
    stop_cleanly(b)


def ck_ssl(certs, port, client_cert=None, **extra):
    conf = {"bootstrap.servers": f"127.0.0.1:{port}", "security.protocol": "SSL",
            "ssl.ca.location": certs.ca_pem, "socket.timeout.ms": 10000}
    if client_cert:
        conf["ssl.certificate.location"], conf["ssl.key.location"] = client_cert
    conf.update(extra)
    return conf


def roundtrip_confluent(conf, n=20):
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    topic = unique("tls")
    admin = AdminClient(conf)
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(30)
    p = Producer(conf)
    for i in range(n):
        p.produce(topic, key=b"k%d" % i, value=b"v%d" % i, partition=i % 2)
    assert p.flush(30) == 0
    c = Consumer(dict(conf, **{"group.id": unique("g"), "auto.offset.reset": "earliest"}))
    c.subscribe([topic])
    got = set()
    deadline = time.time() + 60
    while len(got) < n and time.time() < deadline:
        m = c.poll(1.0)
        if m is not None and not m.error():
            got.add((m.key(), m.value()))
    c.close()
    assert got == {(b"k%d" % i, b"v%d" % i) for i in range(n)}
    return admin


def test_confluent_kafka_round_trip_over_ssl_and_metadata_names_the_ssl_listener(secure_broker, certs):
    admin = roundtrip_confluent(ck_ssl(certs, secure_broker.ssl_port))
    brokers = admin.list_topics(timeout=10).brokers
    assert [(b.host, b.port) for b in brokers.values()] == [("127.0.0.1", secure_broker.ssl_port)]
    # The same broker over PLAINTEXT names its PLAINTEXT endpoint.
    from confluent_kafka.admin import AdminClient
    plain = AdminClient({"bootstrap.servers": f"127.0.0.1:{secure_broker.port}"})
    assert [(b.host, b.port) for b in plain.list_topics(timeout=10).brokers.values()] == [
        ("127.0.0.1", secure_broker.port)]


def test_kafka_python_round_trip_over_ssl(secure_broker, certs):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    topic = unique("kp-tls")
    common = dict(bootstrap_servers=f"127.0.0.1:{secure_broker.ssl_port}", security_protocol="SSL",
                  ssl_cafile=certs.ca_pem)
    p = KafkaProducer(**common)
    for i in range(10):
        p.send(topic, key=b"k%d" % i, value=b"v%d" % i, partition=0).get(30)
    p.close()
    c = KafkaConsumer(**common, auto_offset_reset="earliest", consumer_timeout_ms=15000)
    c.assign([TopicPartition(topic, 0)])
    got = [(m.offset, m.key, m.value) for m in c]
    c.close()
    assert got == [(i, b"k%d" % i, b"v%d" % i) for i in range(10)]


def test_java_client_round_trip_over_ssl_with_a_pem_truststore(secure_broker, certs, java_client,
                                                                 tmp_path):
    cfg = tmp_path / "client.properties"
    cfg.write_text("security.protocol=SSL\nssl.truststore.type=PEM\n"
                   f"ssl.truststore.location={certs.ca_pem}\n")
    env = dict(os.environ, INTEROP_CLIENT_CONFIG=str(cfg))
    topic = unique("java-tls")
    boot = f"127.0.0.1:{secure_broker.ssl_port}"
    out = subprocess.run(java_client + ["produce", boot, topic, "12", "lz4"], env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    produced = sorted(tuple(line.split("\t")) for line in out.stdout.splitlines())
    assert len(produced) == 12
    out = subprocess.run(java_client + ["consume", boot, topic, "12"], env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    consumed = sorted(tuple(line.split("\t")[:3]) for line in out.stdout.splitlines())
    assert consumed == produced


def test_client_certificates_on_a_listener_that_requires_them(secure_broker, certs):
    from confluent_kafka.admin import AdminClient
    port = secure_broker.mtls_port
    roundtrip_confluent(ck_ssl(certs, port, (certs.client_chain, certs.client_key)), n=6)
    for cert in (None, (certs.expired_chain, certs.expired_key)):
        admin = AdminClient(ck_ssl(certs, port, cert, **{"socket.timeout.ms": 3000}))
        with pytest.raises(Exception):
            admin.list_topics(timeout=4)
    # Python's own TLS client sees the handshake refused.
    ctx = ssl.create_default_context(cafile=certs.ca_pem)
    ctx.load_cert_chain(certs.expired_chain, certs.expired_key)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(api_versions_frame())
                if not s.recv(4):
                    raise ConnectionResetError("closed")


def api_versions_frame():
    body = struct.pack(">hhih", 18, 0, 7, 4) + b"test"
    return struct.pack(">i", len(body)) + body


def api_versions_answered(sock):
    """Sends ApiVersions v0 and reads the whole answer: True if it came."""
    sock.sendall(api_versions_frame())
    frame = _read_frame(sock)
    return frame is not None and struct.unpack(">i", frame[:4])[0] == 7


def test_garbage_and_stalled_handshakes_do_not_disturb_other_clients(secure_broker, certs):
    port = secure_broker.ssl_port
    stalled = socket.create_connection(("127.0.0.1", port))
    stalled.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # half a ClientHello
    garbage = socket.create_connection(("127.0.0.1", port), timeout=10)
    garbage.sendall(api_versions_frame())  # a plaintext request on a TLS port
    # The broker answers with a TLS alert at most, then closes.
    data = b""
    while True:
        try:
            chunk = garbage.recv(4096)
        except ConnectionResetError:  # closed with our request unread
            break
        if not chunk:
            break
        data += chunk
    garbage.close()
    assert not data or data[0] == 0x15, data  # alert record, never a Kafka response
    ctx = ssl.create_default_context(cafile=certs.ca_pem)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            assert api_versions_answered(s)
    with socket.create_connection(("127.0.0.1", secure_broker.port), timeout=10) as s:
        assert api_versions_answered(s)
    stalled.close()
    if is_samsa(secure_broker):
        wait_for(lambda: "Failed authentication with 127.0.0.1" in secure_broker.log_text(), 10,
                 "the failed handshake to be logged")


@samsa_only
def test_tls_keystore_problems_stop_start_up_with_a_clear_message(zookeeper, tmp_path, certs):
    cases = [
        ({"ssl.keystore.type": "PKCS12", "ssl.keystore.location": certs.server_p12,
          "ssl.keystore.password": "wrong"}, "wrong password"),
        ({"ssl.keystore.type": "PKCS12", "ssl.keystore.location": str(tmp_path / "missing.p12")},
         "cannot read PKCS12 store"),
        ({"ssl.keystore.type": "PEM", "ssl.keystore.location": certs.server_pem,
          "ssl.enabled.protocols": "TLSv1.2,SSLv3"}, "unknown protocol SSLv3"),
        ({"ssl.keystore.type": "PEM", "ssl.keystore.location": certs.server_pem,
          "ssl.cipher.suites": "TLS_NO_SUCH_SUITE"}, "unknown cipher suite TLS_NO_SUCH_SUITE"),
        ({"ssl.keystore.type": "PEM", "ssl.keystore.location": certs.server_pem,
          "ssl.keystore.password": "x"},
         "SSL key store password cannot be specified with PEM format"),
    ]
    for i, (extra, message) in enumerate(cases):
        props = {"listeners": f"PLAINTEXT://127.0.0.1:{{port}},SSL://127.0.0.1:{free_port()}"}
        props.update(extra)
        assert_refuses_to_start(zookeeper, str(tmp_path / f"b{i}"), props, message)


def test_pem_keystore_inline_and_a_restricted_cipher_suite(zookeeper, tmp_path, certs):
    """KIP-651: key and chain given inline in server.properties; only one
    TLS 1.2 suite (Java's name) enabled."""
    ssl_port = free_port()
    # As operators write them: one value continued over lines.
    key = open(certs.server_key).read().strip().replace("\n", " \\\n    ")
    leaf = open(certs.server_chain).read().split("-----END CERTIFICATE-----")[0]
    chain = (leaf + "-----END CERTIFICATE-----").strip().replace("\n", " \\\n    ")
    props = {
        "listeners": f"PLAINTEXT://127.0.0.1:{{port}},SSL://127.0.0.1:{ssl_port}",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.key": key,
        "ssl.keystore.certificate.chain": chain,
        "ssl.enabled.protocols": "TLSv1.2",
        "ssl.cipher.suites": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    }
    b = new_broker(zookeeper, str(tmp_path), props=props).start()
    try:
        ctx = ssl.create_default_context(cafile=certs.ca_pem)
        with socket.create_connection(("127.0.0.1", ssl_port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                assert s.version() == "TLSv1.2"
                assert s.cipher()[0] == "ECDHE-ECDSA-AES128-GCM-SHA256"
                assert api_versions_answered(s)
        roundtrip_confluent(ck_ssl(certs, ssl_port), n=4)
    finally:
        stop_cleanly(b)


# ---- SASL ----

JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" '
        'password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";')


@pytest.fixture(scope="module")
def sasl_broker(zookeeper, tmp_path_factory, certs):
    """SASL_PLAINTEXT and SASL_SSL listeners with PLAIN users from the
    listener's JAAS entry, beside PLAINTEXT for brokers."""
    sp, ss = free_port(), free_port()
    props = {
        "listeners": f"PLAINTEXT://127.0.0.1:{{port}},SASL_PLAINTEXT://127.0.0.1:{sp},"
                     f"SASL_SSL://127.0.0.1:{ss}",
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
        "listener.name.sasl_ssl.plain.sasl.jaas.config": JAAS,
        "listener.name.sasl_ssl.ssl.keystore.type": "PEM",
        "listener.name.sasl_ssl.ssl.keystore.location": certs.server_pem,
    }
    b = new_broker(zookeeper, str(tmp_path_factory.mktemp("sasl")), props=props).start()
    b.sasl_port, b.sasl_ssl_port = sp, ss
    yield b
    stop_cleanly(b)


def ck_sasl(port, user, password, protocol="SASL_PLAINTEXT", certs=None):
    conf = {"bootstrap.servers": f"127.0.0.1:{port}", "security.protocol": protocol,
            "sasl.mechanism": "PLAIN", "sasl.username": user, "sasl.password": password}
    if certs:
        conf["ssl.ca.location"] = certs.ca_pem
    return conf


def test_confluent_kafka_with_sasl_plain_over_plaintext_and_tls(sasl_broker, certs):
    admin = roundtrip_confluent(ck_sasl(sasl_broker.sasl_port, "alice", "alice-secret"))
    assert [b.port for b in admin.list_topics(timeout=10).brokers.values()] == [sasl_broker.sasl_port]
    roundtrip_confluent(ck_sasl(sasl_broker.sasl_ssl_port, "admin", "admin-secret", "SASL_SSL",
                                certs), n=6)


def kafka_python_roundtrip(topic, common, n=5):
    """Produces n values to partition 0 with kafka-python and reads them back."""
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    p = KafkaProducer(**common)
    for i in range(n):
        p.send(topic, value=b"v%d" % i, partition=0).get(30)
    p.close()
    c = KafkaConsumer(**common, auto_offset_reset="earliest", consumer_timeout_ms=15000)
    c.assign([TopicPartition(topic, 0)])
    assert [m.value for m in c] == [b"v%d" % i for i in range(n)]
    c.close()


def test_kafka_python_and_java_with_sasl_plain(sasl_broker, certs, java_client, tmp_path):
    topic = unique("kp-sasl")
    common = dict(bootstrap_servers=f"127.0.0.1:{sasl_broker.sasl_port}",
                  security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                  sasl_plain_username="alice", sasl_plain_password="alice-secret")
    kafka_python_roundtrip(topic, common)
    cfg = tmp_path / "client.properties"
    cfg.write_text("security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n"
                   "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule "
                   "required username=\"alice\" password=\"alice-secret\";\n"
                   f"ssl.truststore.type=PEM\nssl.truststore.location={certs.ca_pem}\n")
    env = dict(os.environ, INTEROP_CLIENT_CONFIG=str(cfg))
    boot = f"127.0.0.1:{sasl_broker.sasl_ssl_port}"
    out = subprocess.run(java_client + ["produce", boot, topic, "4", "none"], env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    assert len(out.stdout.splitlines()) == 4


def _str(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def _request(key, version, corr, body):
    frame = struct.pack(">hhi", key, version, corr) + _str("sasl-test") + body
    return struct.pack(">i", len(frame)) + frame


def _read_frame(s):
    def exact(n):
        data = b""
        while len(data) < n:
            chunk = s.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data
    size = exact(4)
    if size is None:
        return None
    return exact(struct.unpack(">i", size)[0])


def _handshake(s, mechanism, version=1):
    s.sendall(_request(17, version, 11, _str(mechanism)))
    r = _read_frame(s)
    corr, err, n = struct.unpack(">ihi", r[:10])
    mechs, at = [], 10
    for _ in range(n):
        ln = struct.unpack(">h", r[at:at + 2])[0]
        mechs.append(r[at + 2:at + 2 + ln].decode())
        at += 2 + ln
    return corr, err, mechs


def _authenticate(s, token):
    s.sendall(_request(36, 1, 12, struct.pack(">i", len(token)) + token))
    r = _read_frame(s)
    corr, err, ml = struct.unpack(">ihh", r[:8])
    msg = r[8:8 + ml].decode() if ml >= 0 else None
    at = 8 + max(ml, 0)
    blen = struct.unpack(">i", r[at:at + 4])[0]
    lifetime = struct.unpack(">q", r[at + 4 + max(blen, 0):at + 12 + max(blen, 0)])[0]
    return corr, err, msg, lifetime


def _closed(s):
    try:
        return _read_frame(s) is None
    except ConnectionResetError:
        return True


def _flexible(s, key, version, corr, body):
    """One flexible request (header v2) on an open socket; the response body
    after its header."""
    from kproto import flexible_body
    s.sendall(_request(key, version, corr, b"\x00" + body))
    r = _read_frame(s)
    assert struct.unpack(">i", r[:4])[0] == corr
    return flexible_body(r[4:])


def _token_answers(s):
    """The four delegation-token APIs, decoded: Create v3 (as the caller,
    for User:bob, with a Group renewer), Renew v2, Expire v2, Describe v3."""
    from kproto import compact_str, read_compact_str, read_uvarint, uvarint

    def create(owner, renewers):
        body = compact_str("User" if owner else None) + compact_str(owner)
        body += uvarint(len(renewers) + 1)
        for t, n in renewers:
            body += compact_str(t) + compact_str(n) + b"\x00"
        r = _flexible(s, 38, 3, 21, body + struct.pack(">q", -1) + b"\x00")
        out, at = [struct.unpack(">h", r[:2])[0]], 2
        for _ in range(4):
            v, at = read_compact_str(r, at)
            out.append(v)
        out += list(struct.unpack(">qqq", r[at:at + 24]))
        token_id, at = read_compact_str(r, at + 24)
        n, at = read_uvarint(r, at)
        return tuple(out + [token_id, r[at:at + n - 1]])
    hmac = uvarint(4) + b"abc"
    renew = _flexible(s, 39, 2, 22, hmac + struct.pack(">q", 1000) + b"\x00")
    expire = _flexible(s, 40, 2, 23, hmac + struct.pack(">q", -1) + b"\x00")
    describe = _flexible(s, 41, 3, 24, uvarint(0) + b"\x00")
    return {"create": create(None, []), "for bob": create("bob", []),
            "group renewer": create(None, [("Group", "g")]),
            "renew": struct.unpack(">hq", renew[:10]), "expire": struct.unpack(">hq", expire[:10]),
            "describe": (struct.unpack(">h", describe[:2])[0], read_uvarint(describe, 2)[0] - 1)}


def test_delegation_tokens_answer_as_a_broker_without_the_secret(sasl_broker):
    """Kafka 3.9 without delegation.token.secret.key: token requests are not
    allowed over PLAINTEXT, and over SASL they pass the owner and renewer
    checks and get DELEGATION_TOKEN_AUTH_DISABLED."""
    not_allowed, disabled, invalid_type = 64, 61, 67
    with socket.create_connection(("127.0.0.1", sasl_broker.port), timeout=10) as s:
        got = _token_answers(s)
    anon = ("User", "ANONYMOUS", "User", "ANONYMOUS", -1, -1, -1, "", b"")
    assert got == {"create": (not_allowed,) + anon, "for bob": (not_allowed, "User", "bob") + anon[2:],
                   "group renewer": (not_allowed,) + anon, "renew": (not_allowed, -1),
                   "expire": (not_allowed, -1), "describe": (not_allowed, 0)}
    with socket.create_connection(("127.0.0.1", sasl_broker.sasl_port), timeout=10) as s:
        assert _handshake(s, "PLAIN")[1] == 0
        assert _authenticate(s, b"\0alice\0alice-secret")[1] == 0
        got = _token_answers(s)
    alice = ("User", "alice", "User", "alice", -1, -1, -1, "", b"")
    assert got == {"create": (disabled,) + alice, "for bob": (disabled, "User", "bob") + alice[2:],
                   "group renewer": (invalid_type,) + alice, "renew": (disabled, -1),
                   "expire": (disabled, -1), "describe": (disabled, 0)}


def test_the_kip848_group_protocol_is_unsupported_as_in_zookeeper_mode(sasl_broker):
    """ConsumerGroupHeartbeat and ConsumerGroupDescribe need KRaft's group
    coordinator: Kafka 3.9 in ZooKeeper mode answers UNSUPPORTED_VERSION,
    which a librdkafka consumer with group.protocol=consumer reports."""
    from confluent_kafka import Consumer, KafkaError
    from kproto import compact_str, read_compact_str, read_uvarint, uvarint
    unsupported = 35
    with socket.create_connection(("127.0.0.1", sasl_broker.port), timeout=10) as s:
        hb = (compact_str("g") + compact_str("") + struct.pack(">i", 0) + compact_str(None) +
              compact_str(None) + struct.pack(">i", 30000) + uvarint(2) + compact_str("t") +
              compact_str(None) + uvarint(0) + b"\x00")
        r = _flexible(s, 68, 0, 31, hb)
        throttle, err = struct.unpack(">ih", r[:6])
        msg, at = read_compact_str(r, 6)
        member, at = read_compact_str(r, at)
        epoch, interval, assignment = struct.unpack(">iib", r[at:at + 9])
        assert (err, msg, member, epoch, interval, assignment) == (unsupported, None, None, 0, 0, -1)
        r = _flexible(s, 69, 0, 32, uvarint(3) + compact_str("g1") + compact_str("g2") + b"\x00\x00")
        n, at = read_uvarint(r, 4)
        groups = []
        for _ in range(n - 1):
            err = struct.unpack(">h", r[at:at + 2])[0]
            _, at = read_compact_str(r, at + 2)
            gid, at = read_compact_str(r, at)
            groups.append((gid, err))
            state, at = read_compact_str(r, at)
            _, at = read_compact_str(r, at + 8)           # epochs, assignor
            members, at = read_uvarint(r, at)
            at += 4 + 1                                     # operations, tags
            assert (state, members) == ("", 1)
        assert groups == [("g1", unsupported), ("g2", unsupported)]
    # librdkafka makes the answer a fatal consumer error.
    c = Consumer({"bootstrap.servers": sasl_broker.bootstrap, "group.id": unique("g848"),
                  "group.protocol": "consumer"})
    error = None
    try:
        c.subscribe(["t"])
        deadline = time.time() + 30
        while error is None and time.time() < deadline:
            m = c.poll(0.5)
            error = m.error() if m is not None and m.error() else None
    finally:
        c.close()
    assert error is not None, "the consumer reported no error"
    assert error.code() == KafkaError._FATAL, error
    assert "API version not supported: ConsumerGroupHeartbeat" in error.str(), error


def test_sasl_exchanges_answer_as_kafka_does(sasl_broker):
    port = sasl_broker.sasl_port
    # A mechanism that is not enabled: UNSUPPORTED_SASL_MECHANISM with the list, then closed.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        assert _handshake(s, "SCRAM-SHA-256") == (11, 33, ["PLAIN"])
        assert _closed(s)
    # A wrong password: Kafka's message, then closed.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        assert api_versions_answered(s)
        assert _handshake(s, "PLAIN") == (11, 0, ["PLAIN"])
        assert _authenticate(s, b"\0alice\0wrong") == (
            12, 58, "Authentication failed: Invalid username or password", 0)
        assert _closed(s)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        _handshake(s, "PLAIN")
        assert _authenticate(s, b"alice") == (
            12, 58, "Invalid SASL/PLAIN response: expected 3 tokens, got 1", 0)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        _handshake(s, "PLAIN")
        assert _authenticate(s, b"bob\0alice\0alice-secret")[1:3] == (
            58, "Authentication failed: Client requested an authorization id that is different "
                "from username")
    # The right one, then a second SaslAuthenticate is in the wrong state.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        _handshake(s, "PLAIN")
        assert _authenticate(s, b"\0alice\0alice-secret") == (12, 0, "", 0)
        assert api_versions_answered(s)
        assert _authenticate(s, b"\0alice\0alice-secret")[1:3] == (
            34, "SaslAuthenticate request received after successful authentication")
    # SaslHandshake v0: the token travels as a bare frame, answered the same way.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        assert _handshake(s, "PLAIN", version=0) == (11, 0, ["PLAIN"])
        token = b"\0admin\0admin-secret"
        s.sendall(struct.pack(">i", len(token)) + token)
        assert _read_frame(s) == b""
        assert api_versions_answered(s)


def test_requests_before_authentication_close_the_connection(sasl_broker):
    meta = _request(3, 1, 5, struct.pack(">i", -1))
    with socket.create_connection(("127.0.0.1", sasl_broker.sasl_port), timeout=10) as s:
        s.sendall(meta)
        assert _closed(s)
    with socket.create_connection(("127.0.0.1", sasl_broker.sasl_port), timeout=10) as s:
        _handshake(s, "PLAIN")
        s.sendall(meta)  # SaslAuthenticate was due
        # Kafka may first send the request's error response; samsa closes.
        assert _closed(s) or _closed(s)
    # An exchange stopped half way holds nothing up for others.
    stalled = socket.create_connection(("127.0.0.1", sasl_broker.sasl_port), timeout=10)
    _handshake(stalled, "PLAIN")
    with socket.create_connection(("127.0.0.1", sasl_broker.sasl_port), timeout=10) as s:
        _handshake(s, "PLAIN")
        assert _authenticate(s, b"\0alice\0alice-secret")[1] == 0
    stalled.close()
    if is_samsa(sasl_broker):
        assert "(Unexpected Kafka request of type Metadata during SASL handshake.)" in \
            sasl_broker.log_text()
        assert "(Unexpected Kafka request of type Metadata during SASL authentication.)" in \
            sasl_broker.log_text()
        wait_for(lambda: "Failed authentication with 127.0.0.1" in sasl_broker.log_text() and
                 "Invalid username or password" in sasl_broker.log_text(), 10, "log lines")


def test_sasl_requests_on_a_listener_without_sasl(sasl_broker):
    with socket.create_connection(("127.0.0.1", sasl_broker.port), timeout=10) as s:
        assert _handshake(s, "PLAIN") == (11, 34, [])
        assert _authenticate(s, b"\0alice\0alice-secret")[1:3] == (
            34, "SaslAuthenticate request received after successful authentication")


def test_an_oversized_frame_before_authentication_is_refused(sasl_broker):
    """Before SASL completes a frame may be at most 512 KiB (Kafka's
    sasl.server.max.receive.size): a bigger one closes the connection
    before its bytes are read, so nothing is allocated for it."""
    with socket.create_connection(("127.0.0.1", sasl_broker.sasl_port), timeout=10) as s:
        s.sendall(struct.pack(">i", 512 * 1024 + 1) + b"\0" * 64)
        assert _closed(s)
    with socket.create_connection(("127.0.0.1", sasl_broker.sasl_port), timeout=10) as s:
        _handshake(s, "PLAIN")
        s.sendall(struct.pack(">i", 100 * 1024 * 1024) + b"\0" * 64)  # as the SaslAuthenticate
        assert _closed(s)
    with socket.create_connection(("127.0.0.1", sasl_broker.sasl_port), timeout=10) as s:
        _handshake(s, "PLAIN")
        assert _authenticate(s, b"\0alice\0alice-secret")[1] == 0
    if is_samsa(sasl_broker):
        assert "sasl.server.max.receive.size=524288" in sasl_broker.log_text()


def test_ssl_principal_mapping_rules_name_the_certificate_owner(zookeeper, tmp_path, certs):
    """ssl.principal.mapping.rules turn the client certificate's subject
    (CN=client,OU=test,O=samsa) into User:client, the only super user of an
    authorizer with no ACLs: on the MAPPED listener the client may create,
    produce and read; on a listener with the default rules its principal is
    the whole subject and creating a topic is refused; a listener whose
    rules match nothing refuses the client altogether."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic
    ports = {"MAPPED": free_port(), "UNMAPPED": free_port(), "SUBJECT": free_port()}
    pem = {"ssl.keystore.type": "PEM", "ssl.keystore.location": certs.server_pem,
           "ssl.truststore.type": "PEM", "ssl.truststore.location": certs.ca_pem,
           "ssl.client.auth": "required"}
    props = {"listeners": "PLAINTEXT://127.0.0.1:{port}," +
                          ",".join(f"{n}://127.0.0.1:{p}" for n, p in ports.items()),
             "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT," +
                                               ",".join(f"{n}:SSL" for n in ports),
             "inter.broker.listener.name": "PLAINTEXT",
             "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
             "super.users": "User:client;User:ANONYMOUS",
             "allow.everyone.if.no.acl.found": "false",
             "listener.name.mapped.ssl.principal.mapping.rules":
                 "RULE:^CN=([a-z]+),OU=test,O=samsa$/$1/L,DEFAULT",
             "listener.name.unmapped.ssl.principal.mapping.rules": "RULE:^CN=nobody,.*$/x/",
             **{f"listener.name.{n.lower()}.{k}": v for n in ports for k, v in pem.items()}}
    b = new_broker(zookeeper, str(tmp_path), props=props).start()
    try:
        cert = (certs.client_chain, certs.client_key)
        roundtrip_confluent(ck_ssl(certs, ports["MAPPED"], cert), n=4)
        topic = unique("as-subject")
        admin = AdminClient(ck_ssl(certs, ports["SUBJECT"], cert))
        with pytest.raises(KafkaException) as e:
            admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
        assert e.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
        admin = AdminClient(ck_ssl(certs, ports["UNMAPPED"], cert, **{"socket.timeout.ms": 3000}))
        with pytest.raises(Exception):
            admin.list_topics(timeout=4)
    finally:
        stop_cleanly(b)


def test_keystore_rotation_at_runtime(zookeeper, tmp_path, certs):
    """A listener's keystore replaced with kafka-configs (listener.name.<l>.
    ssl.keystore.location, per broker) serves new connections without a
    restart; a keystore with another subject is refused, as Kafka refuses
    it, and the first one stays."""
    from test_configs import config_command
    ssl_port = free_port()
    props = {"listeners": f"PLAINTEXT://127.0.0.1:{{port}},SSL://127.0.0.1:{ssl_port}",
             "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SSL",
             "inter.broker.listener.name": "PLAINTEXT",
             "listener.name.ssl.ssl.keystore.type": "PKCS12",
             "listener.name.ssl.ssl.keystore.location": certs.server_p12,
             "listener.name.ssl.ssl.keystore.password": PASSWORD,
             "listener.name.ssl.ssl.key.password": PASSWORD}
    b = new_broker(zookeeper, str(tmp_path), props=props).start()

    def served_cert():
        ctx = ssl.create_default_context(cafile=certs.ca_pem)
        with socket.create_connection(("127.0.0.1", ssl_port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                return s.getpeercert(binary_form=True)

    def alter(location, check=True):
        return config_command("3.9.1", "--bootstrap-server", b.bootstrap, "--entity-type",
                              "brokers", "--entity-name", "0", "--alter", "--add-config",
                              f"listener.name.ssl.ssl.keystore.location={location}", check=check)
    try:
        first = served_cert()
        _, rotated = certs.server_identity("rotated")
        out = alter(rotated)
        assert "Completed updating config for broker 0." in out, out
        wait_for(lambda: served_cert() != first, 30, "the rotated certificate to be served")
        second = served_cert()
        _, other = certs.server_identity("other-dn", cn="elsewhere")
        r = alter(other, check=False)
        assert r.returncode != 0 and "Keystore DistinguishedName does not match" in \
            r.stdout + r.stderr, r.stdout + r.stderr
        time.sleep(2)
        assert served_cert() == second
        roundtrip_confluent(ck_ssl(certs, ssl_port), n=4)
    finally:
        stop_cleanly(b)


def test_kafka_delegation_tokens_tool_without_the_secret(sasl_broker, tmp_path):
    """Kafka 3.9.1's kafka-delegation-tokens over SASL: creating and
    describing tokens fail as against a Kafka broker without
    delegation.token.secret.key."""
    from conftest import kafka_tools
    cfg = tmp_path / "client.properties"
    cfg.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
                   "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule "
                   "required username=\"alice\" password=\"alice-secret\";\n")
    base = kafka_tools("org.apache.kafka.tools.DelegationTokenCommand") + [
        "--bootstrap-server", f"127.0.0.1:{sasl_broker.sasl_port}", "--command-config", str(cfg)]
    disabled = ("org.apache.kafka.common.errors.DelegationTokenDisabledException: "
                "Delegation Token feature is not enabled.")
    for args, said in ((["--create", "--max-life-time-period", "-1"],
                        "Calling create token operation with renewers :[] , "
                        "max-life-time-period :-1\n"),
                       (["--describe"], "Calling describe token operation for current user.\n")):
        r = subprocess.run(base + args, capture_output=True, text=True, timeout=120)
        assert (r.returncode, r.stdout) == (1, said), r.stdout + r.stderr
        assert r.stderr.splitlines()[0] == disabled, r.stderr
