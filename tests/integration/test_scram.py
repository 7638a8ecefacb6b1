"""SASL/SCRAM-SHA-256 and -512 with credentials in ZooKeeper, as Kafka keeps
them: created and described with Kafka 3.9.1's kafka-configs (the
AlterUserScramCredentials / DescribeUserScramCredentials APIs) and with
Kafka 2.8's kafka-configs --zookeeper (the znode and its change
notification), then used by confluent-kafka, kafka-python and the Java
client; wrong passwords, unknown users, broken exchanges and bad requests
get Kafka's errors.  Runs against Kafka with SAMSA_TEST_TARGET=kafka."""
import base64
import hashlib
import hmac
import os
import socket
import struct
import subprocess
import time

import pytest

from conftest import is_samsa, new_broker, stop_cleanly, unique
from servers import free_port, wait_for
from test_configs import config_command
from test_security import _closed, _handshake, _read_frame, api_versions_answered, kafka_python_roundtrip

MECHS = "SCRAM-SHA-256,SCRAM-SHA-512"
SCRAM_JAAS = "org.apache.kafka.common.security.scram.ScramLoginModule required;"


def start_scram_broker(zookeeper, workdir, **extra):
    """A SASL_PLAINTEXT listener with both SCRAM mechanisms beside
    PLAINTEXT (for brokers and for the admin tools)."""
    sp = free_port()
    props = {
        "listeners": f"PLAINTEXT://127.0.0.1:{{port}},SASL_PLAINTEXT://127.0.0.1:{sp}",
        "sasl.enabled.mechanisms": MECHS,
        # Kafka wants a JAAS entry per server mechanism; samsa reads none.
        "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config": SCRAM_JAAS,
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": SCRAM_JAAS,
        **extra,
    }
    b = new_broker(zookeeper, workdir, props=props).start()
    b.sasl_port = sp
    return b


@pytest.fixture(scope="module")
def scram_broker(zookeeper, tmp_path_factory):
    b = start_scram_broker(zookeeper, str(tmp_path_factory.mktemp("scram")))
    yield b
    stop_cleanly(b)


def configs(b, *args):
    """Kafka 3.9.1's kafka-configs against the broker's PLAINTEXT listener."""
    return config_command("3.9.1", "--bootstrap-server", b.bootstrap, *args)


def add_user(b, user, spec):
    out = configs(b, "--alter", "--add-config", spec, "--entity-type", "users",
                  "--entity-name", user)
    assert f"Completed updating config for user {user}." in out


def ck_scram(b, mech, user, password, **extra):
    conf = {"bootstrap.servers": f"127.0.0.1:{b.sasl_port}", "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": mech, "sasl.username": user, "sasl.password": password,
            "socket.timeout.ms": 10000}
    conf.update(extra)
    return conf


def login_error(conf):
    """None if the client authenticates, else the error text it saw."""
    from confluent_kafka import KafkaException, Producer
    errors = []
    p = Producer(dict(conf, error_cb=lambda e: errors.append(e.str())))
    try:
        p.list_topics(timeout=5)
        return None
    except KafkaException as e:
        p.poll(0.5)     # delivers the error callbacks
        return "; ".join(errors) or str(e)


def roundtrip(conf, n=12):
    from confluent_kafka import Consumer, Producer
    topic = unique("scram")
    p = Producer(conf)
    for i in range(n):
        p.produce(topic, key=b"k%d" % i, value=b"v%d" % i, partition=0)
    assert p.flush(30) == 0
    c = Consumer(dict(conf, **{"group.id": unique("g"), "auto.offset.reset": "earliest"}))
    c.subscribe([topic])
    got = []
    deadline = time.time() + 60
    while len(got) < n and time.time() < deadline:
        m = c.poll(1.0)
        if m is not None and not m.error():
            got.append((m.offset(), m.key(), m.value()))
    c.close()
    assert got == [(i, b"k%d" % i, b"v%d" % i) for i in range(n)]


def test_credentials_from_kafka_configs_work_for_confluent_kafka(scram_broker):
    user = unique("alice")
    add_user(scram_broker, user, "SCRAM-SHA-256=[iterations=8192,password=alice-secret],"
                                 "SCRAM-SHA-512=[password=alice-512]")
    out = configs(scram_broker, "--describe", "--entity-type", "users", "--entity-name",
                  user)
    assert out.strip() == (f"SCRAM credential configs for user-principal '{user}' are "
                           "SCRAM-SHA-256=iterations=8192, SCRAM-SHA-512=iterations=4096")
    # The broker learns the credential through /config/changes.
    wait_for(lambda: login_error(ck_scram(scram_broker, "SCRAM-SHA-256", user, "alice-secret"))
             is None, 30, "the new SCRAM-SHA-256 credential to be usable")
    roundtrip(ck_scram(scram_broker, "SCRAM-SHA-256", user, "alice-secret"))
    roundtrip(ck_scram(scram_broker, "SCRAM-SHA-512", user, "alice-512"), n=5)
    # Each mechanism has its own password.
    err = login_error(ck_scram(scram_broker, "SCRAM-SHA-512", user, "alice-secret"))
    assert ("Authentication failed during authentication due to invalid credentials with SASL "
            "mechanism SCRAM-SHA-512") in err
    assert login_error(ck_scram(scram_broker, "SCRAM-SHA-256", unique("nobody"), "x")) is not None
    if is_samsa(scram_broker):
        wait_for(lambda: "Invalid client credentials" in scram_broker.log_text() and
                 "Authentication failed: Invalid user credentials" in scram_broker.log_text(),
                 10, "a log line per failed login")


def test_deleting_a_credential_stops_its_logins(scram_broker):
    user = unique("carol")
    add_user(scram_broker, user, "SCRAM-SHA-256=[password=carol-secret]")
    conf = ck_scram(scram_broker, "SCRAM-SHA-256", user, "carol-secret")
    wait_for(lambda: login_error(conf) is None, 30, "the credential to be usable")
    out = configs(scram_broker, "--alter", "--delete-config", "SCRAM-SHA-256", "--entity-type",
                  "users", "--entity-name", user)
    assert f"Completed updating config for user {user}." in out
    wait_for(lambda: login_error(conf) is not None, 30, "the deleted credential to be refused")
    # A user left without credentials is not listed at all.
    out = configs(scram_broker, "--describe", "--entity-type", "users", "--entity-name", user)
    assert out.strip() == ""


def test_kafka_2_8_zookeeper_credentials_and_kafka_python_and_java(scram_broker, zookeeper,
                                                                    java_client, tmp_path):
    """kafka-configs --zookeeper (Kafka 2.8) writes /config/users/<user>
    and a notification; the running broker picks it up."""
    user = unique("dave")
    zk = zookeeper.connect + scram_broker.chroot
    out = config_command("2.8.2", "--zookeeper", zk, "--alter", "--add-config",
                         "SCRAM-SHA-512=[iterations=4096,password=dave-secret]",
                         "--entity-type", "users", "--entity-name", user)
    assert f"Completed updating config for entity: user-principal '{user}'." in out
    conf = ck_scram(scram_broker, "SCRAM-SHA-512", user, "dave-secret")
    wait_for(lambda: login_error(conf) is None, 30, "the credential to be usable")
    topic = unique("kp-scram")
    common = dict(bootstrap_servers=f"127.0.0.1:{scram_broker.sasl_port}",
                  security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
                  sasl_plain_username=user, sasl_plain_password="dave-secret")
    kafka_python_roundtrip(topic, common)
    cfg = tmp_path / "client.properties"
    cfg.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n"
                   "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule "
                   f"required username=\"{user}\" password=\"dave-secret\";\n")
    env = dict(os.environ, INTEROP_CLIENT_CONFIG=str(cfg))
    out = subprocess.run(java_client + ["consume", f"127.0.0.1:{scram_broker.sasl_port}", topic,
                                        "5"], env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    assert [line.split("\t")[3] for line in out.stdout.splitlines()] == \
        ["v%d" % i for i in range(5)]


def test_user_scram_credential_requests_answer_as_kafka_does(scram_broker):
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import (AdminClient, ScramCredentialInfo, ScramMechanism,
                                       UserScramCredentialDeletion, UserScramCredentialUpsertion)
    admin = AdminClient({"bootstrap.servers": scram_broker.bootstrap})
    user = unique("erin")
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 5000)
    futures = admin.alter_user_scram_credentials([
        UserScramCredentialUpsertion(user, info, b"erin-secret", b"salt-of-erin")])
    futures[user].result(30)
    d = admin.describe_user_scram_credentials([user])[user].result(30)
    assert [(i.mechanism, i.iterations) for i in d.scram_credential_infos] == [
        (ScramMechanism.SCRAM_SHA_256, 5000)]
    few = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 1000)
    many = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 20000)
    other = unique("frank")
    for spec, code, msg in [(few, 93, "Too few iterations"), (many, 93, "Too many iterations")]:
        f = admin.alter_user_scram_credentials([UserScramCredentialUpsertion(other, spec, b"p")])
        with pytest.raises(KafkaException) as e:
            f[other].result(30)
        assert (e.value.args[0].code(), e.value.args[0].str()) == (code, msg)
    f = admin.alter_user_scram_credentials([
        UserScramCredentialDeletion(other, ScramMechanism.SCRAM_SHA_256)])
    with pytest.raises(KafkaException) as e:
        f[other].result(30)
    assert (e.value.args[0].code(), e.value.args[0].str()) == (
        91, "Attempt to delete a user credential that does not exist")
    f = admin.alter_user_scram_credentials([
        UserScramCredentialUpsertion(other, info, b"a"), UserScramCredentialUpsertion(other, info, b"b")])
    with pytest.raises(KafkaException) as e:
        f[other].result(30)
    assert (e.value.args[0].code(), e.value.args[0].str()) == (
        92, "A user credential cannot be altered twice in the same request")
    # Describing a user without credentials.
    with pytest.raises(KafkaException) as e:
        admin.describe_user_scram_credentials([other])[other].result(30)
    # librdkafka reads this message past its end, up to the next NUL of the
    # response: the empty credential array's count byte (\x01) shows up.
    assert (e.value.args[0].code(), e.value.args[0].str().rstrip("\x01")) == (
        91, f"Attempt to describe a user credential that does not exist: {other}")
    # Describing everyone lists the user with its credential.
    everyone = admin.describe_user_scram_credentials().result(30)
    assert [(i.mechanism, i.iterations) for i in everyone[user].scram_credential_infos] == [
        (ScramMechanism.SCRAM_SHA_256, 5000)]
    assert other not in everyone


# ---- the exchange on the wire ----

def client_first(user, nonce):
    return f"n,,n={user},r={nonce}"


def scram_proof(mech, password, salt, iterations, auth_message):
    h = hashlib.sha256 if mech == "SCRAM-SHA-256" else hashlib.sha512
    salted = hashlib.pbkdf2_hmac(h().name, password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", h).digest()
    stored = h(client_key).digest()
    sig = hmac.new(stored, auth_message.encode(), h).digest()
    server_key = hmac.new(salted, b"Server Key", h).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, sig))
    return proof, hmac.new(server_key, auth_message.encode(), h).digest()


def exchange(port, mech, user, password, nonce="fyko+d2lbbFgONRv9qkxdawL", tamper=None,
             sock=None):
    """One SCRAM login by hand (on sock if given: a re-authentication):
    (error, message) of the last step, the socket and the session lifetime
    (the server signature is checked)."""
    s = sock or socket.create_connection(("127.0.0.1", port), timeout=10)
    _handshake(s, mech)
    first = client_first(user, nonce)
    s.sendall(sasl_auth_frame(first.encode()))
    corr, err, msg, token = read_auth(s)[:4]
    if err:
        return err, msg, s, 0
    server_first = token.decode()
    fields = dict(kv.split("=", 1) for kv in server_first.split(","))
    assert fields["r"].startswith(nonce) and len(fields["r"]) > len(nonce)
    salt, iterations = base64.b64decode(fields["s"]), int(fields["i"])
    without_proof = f"c=biws,r={fields['r']}"
    auth = f"{first[3:]},{server_first},{without_proof}"
    proof, server_sig = scram_proof(mech, password, salt, iterations, auth)
    final = f"{without_proof},p={base64.b64encode(proof).decode()}"
    if tamper:
        final = tamper(final)
    s.sendall(sasl_auth_frame(final.encode()))
    corr, err, msg, token, lifetime = read_auth(s)
    if not err:
        assert token.decode() == "v=" + base64.b64encode(server_sig).decode()
    return err, msg, s, lifetime


def sasl_auth_frame(token):
    frame = struct.pack(">hhi", 36, 1, 12) + struct.pack(">h", 9) + b"sasl-test" + \
        struct.pack(">i", len(token)) + token
    return struct.pack(">i", len(frame)) + frame


def read_auth(s):
    r = _read_frame(s)
    corr, err, ml = struct.unpack(">ihh", r[:8])
    msg = r[8:8 + ml].decode() if ml >= 0 else None
    at = 8 + max(ml, 0)
    blen = struct.unpack(">i", r[at:at + 4])[0]
    token = r[at + 4:at + 4 + max(blen, 0)]
    lifetime = struct.unpack(">q", r[at + 4 + max(blen, 0):at + 12 + max(blen, 0)])[0]
    return corr, err, msg, token, lifetime


GENERIC = "Authentication failed during authentication due to invalid credentials with SASL mechanism {}"


def test_scram_exchanges_on_the_wire(scram_broker):
    user = unique("gina")
    add_user(scram_broker, user, "SCRAM-SHA-256=[password=gina-secret]")
    port = scram_broker.sasl_port

    def ok():
        err, msg, s, _ = exchange(port, "SCRAM-SHA-256", user, "gina-secret")
        s.close()
        return err == 0
    wait_for(ok, 30, "the credential to be usable")
    err, msg, s, _ = exchange(port, "SCRAM-SHA-256", user, "gina-secret")
    assert (err, msg) == (0, "")
    assert api_versions_answered(s)
    s.close()
    cases = [
        # wrong password, unknown user, a mechanism without a credential
        (("SCRAM-SHA-256", user, "wrong"), None, GENERIC.format("SCRAM-SHA-256")),
        (("SCRAM-SHA-256", unique("nobody"), "x"), None, GENERIC.format("SCRAM-SHA-256")),
        (("SCRAM-SHA-512", user, "gina-secret"), None, GENERIC.format("SCRAM-SHA-512")),
        # a final message with another nonce, or that is not SCRAM at all
        (("SCRAM-SHA-256", user, "gina-secret"), lambda f: f.replace(",p=", "x,p=", 1),
         GENERIC.format("SCRAM-SHA-256")),
        (("SCRAM-SHA-256", user, "gina-secret"), lambda f: "garbage",
         GENERIC.format("SCRAM-SHA-256")),
    ]
    for args, tamper, expected in cases:
        err, msg, s, _ = exchange(port, *args, tamper=tamper)
        assert (err, msg) == (58, expected), args
        assert _closed(s)
        s.close()
    # A first message that is not SCRAM, and an authorization id that is not the user.
    for first, expected in [(b"hello", GENERIC.format("SCRAM-SHA-256")),
                            (f"n,a=other,n={user},r=abc".encode(),
                             "Authentication failed: Client requested an authorization id that "
                             "is different from username")]:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            _handshake(s, "SCRAM-SHA-256")
            s.sendall(sasl_auth_frame(first))
            assert read_auth(s)[1:3] == (58, expected)
            assert _closed(s)
    # An exchange stopped half way holds up nobody else.
    stalled = socket.create_connection(("127.0.0.1", port), timeout=10)
    _handshake(stalled, "SCRAM-SHA-256")
    stalled.sendall(sasl_auth_frame(client_first(user, "abc").encode()))
    assert read_auth(stalled)[1] == 0
    err, msg, s, _ = exchange(port, "SCRAM-SHA-256", user, "gina-secret")
    assert err == 0
    s.close()
    stalled.close()
    if is_samsa(scram_broker):
        wait_for(lambda: "Invalid client nonce in the final client message." in
                 scram_broker.log_text() and "Invalid SCRAM client final message format" in
                 scram_broker.log_text(), 10, "log lines")


def test_scram_with_a_v0_handshake_sends_bare_tokens(scram_broker):
    user = unique("hank")
    add_user(scram_broker, user, "SCRAM-SHA-512=[password=hank-secret]")
    port = scram_broker.sasl_port

    def login():
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            assert _handshake(s, "SCRAM-SHA-512", version=0)[1] == 0
            first = client_first(user, "rOprNGfwEbeRWgbNEkqO")
            s.sendall(struct.pack(">i", len(first)) + first.encode())
            server_first = _read_frame(s)
            if server_first is None:
                return False
            fields = dict(kv.split("=", 1) for kv in server_first.decode().split(","))
            without_proof = f"c=biws,r={fields['r']}"
            proof, sig = scram_proof("SCRAM-SHA-512", "hank-secret",
                                     base64.b64decode(fields["s"]), int(fields["i"]),
                                     f"{first[3:]},{server_first.decode()},{without_proof}")
            final = f"{without_proof},p={base64.b64encode(proof).decode()}".encode()
            s.sendall(struct.pack(">i", len(final)) + final)
            assert _read_frame(s) == b"v=" + base64.b64encode(sig)
            return api_versions_answered(s)
    wait_for(login, 30, "a v0 SCRAM login")


def test_scram_over_sasl_ssl(zookeeper, tmp_path):
    """SCRAM-SHA-512 on a SASL_SSL listener (a PEM keystore), with
    confluent-kafka."""
    import sys
    from conftest import ROOT
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from certs import TestCerts
    certs = TestCerts(str(tmp_path / "certs"))
    port = free_port()
    props = {
        "listeners": f"PLAINTEXT://127.0.0.1:{{port}},SASL_SSL://127.0.0.1:{port}",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": SCRAM_JAAS,
        "listener.name.sasl_ssl.ssl.keystore.type": "PEM",
        "listener.name.sasl_ssl.ssl.keystore.location": certs.server_pem,
    }
    b = new_broker(zookeeper, str(tmp_path), props=props).start()
    try:
        b.sasl_port = port
        user = unique("ivy")
        add_user(b, user, "SCRAM-SHA-512=[password=ivy-secret]")
        conf = ck_scram(b, "SCRAM-SHA-512", user, "ivy-secret", **{
            "security.protocol": "SASL_SSL", "ssl.ca.location": certs.ca_pem})
        wait_for(lambda: login_error(conf) is None, 30, "the credential to be usable over TLS")
        roundtrip(conf, n=8)
    finally:
        stop_cleanly(b)


def test_samsa_configs_creates_and_deletes_credentials(scram_broker):
    """samsa-configs --alter --add-config 'SCRAM-SHA-256=[...]' salts the
    password as Kafka's AdminClient does: the user logs in with it, both
    tools describe the credential alike, and --delete-config removes it."""
    import subprocess
    from conftest import tool

    def samsa_configs(*args):
        return subprocess.run([tool("samsa-configs"), "--bootstrap-server", scram_broker.bootstrap,
                               *args], capture_output=True, text=True, timeout=60)
    user = unique("dave")
    entity = ["--entity-type", "users", "--entity-name", user]
    r = samsa_configs("--alter", "--add-config", "SCRAM-SHA-256=[iterations=8192,password=dave-256],"
                      "SCRAM-SHA-512=[password=dave-512]", *entity)
    assert r.stdout == f"Completed updating config for user {user}.\n", r.stderr
    ours = samsa_configs("--describe", *entity).stdout
    assert ours == configs(scram_broker, "--describe", *entity)
    assert ours.strip() == (f"SCRAM credential configs for user-principal '{user}' are "
                            "SCRAM-SHA-256=iterations=8192, SCRAM-SHA-512=iterations=4096")
    wait_for(lambda: login_error(ck_scram(scram_broker, "SCRAM-SHA-256", user, "dave-256"))
             is None, 30, "the credential samsa-configs made to be usable")
    assert login_error(ck_scram(scram_broker, "SCRAM-SHA-512", user, "dave-512")) is None
    r = samsa_configs("--alter", "--add-config", "SCRAM-SHA-256=[iterations=100,password=x]",
                      *entity)
    assert r.returncode == 1 and \
        "Iterations 100 is less than the minimum 4096 required for SCRAM-SHA-256" in r.stderr
    r = samsa_configs("--alter", "--add-config", "SCRAM-SHA-256=[password=x],producer_byte_rate=1",
                      *entity)
    assert r.returncode == 1 and "Cannot alter both quota and SCRAM credential configs" in r.stderr
    r = samsa_configs("--alter", "--delete-config", "SCRAM-SHA-512", *entity)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: login_error(ck_scram(scram_broker, "SCRAM-SHA-512", user, "dave-512"))
             is not None, 30, "the deleted credential to be refused")
