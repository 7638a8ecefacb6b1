"""KIP-584 feature versioning as a ZooKeeper-mode Kafka 3.9 cluster runs it:
the controller's /feature znode, the finalized features and their epoch in
every broker's ApiVersions (following /feature when it changes), and
UpdateFeatures answered by the controller with Kafka's checks and messages
(a ZooKeeper-mode broker supports no feature, so every upgrade is refused),
through Kafka 3.9.1's own kafka-features tool and raw requests.  Envelope,
which Kafka accepts only while migrating to KRaft, closes the connection.
Runs against samsa and against Kafka (SAMSA_TEST_TARGET=kafka)."""
import json
import os
import struct
import subprocess
import sys

import pytest

from conftest import ROOT, TARGET, kafka_tools, new_broker, samsa_only, stop_cleanly, wait_for
from kproto import Conn, compact_str, frame, read_compact_str, read_uvarint, uvarint

sys.path.insert(0, os.path.join(ROOT, "tests"))
from cluster import Cluster  # noqa: E402

KIND = "samsa" if TARGET == "samsa" else "kafka"
INVALID_REQUEST = 42
NOT_CONTROLLER = 41
NOT_SUPPORTED = ("Could not apply finalized feature update because the provided feature is not "
                 "supported.")
UPGRADE, SAFE_DOWNGRADE, UNSAFE_DOWNGRADE = 1, 2, 3


def api_versions_features(port):
    """ApiVersions v3: (finalized features epoch, {name: level}); epoch -1
    when the broker reports none."""
    c = Conn(port)
    try:
        r = c.request(18, 3, b"\x00" + compact_str("samsa-test") + compact_str("1.0") + b"\x00")
    finally:
        c.close()
    (err,) = struct.unpack_from(">h", r, 0)
    assert err == 0
    n, at = read_uvarint(r, 2)
    at += 7 * (n - 1) + 4                   # the API ranges, throttle_time_ms
    n_tags, at = read_uvarint(r, at)
    epoch, features = -1, {}
    for _ in range(n_tags):
        tag, at = read_uvarint(r, at)
        size, at = read_uvarint(r, at)
        if tag == 1:
            (epoch,) = struct.unpack_from(">q", r, at)
        elif tag == 2:
            k, p = read_uvarint(r, at)
            for _ in range(k - 1):
                name, p = read_compact_str(r, p)
                (features[name],) = struct.unpack_from(">h", r, p)
                _, p = read_uvarint(r, p + 4)
        at += size
    return epoch, features


def update_features(port, updates, version=1, validate_only=False):
    """UpdateFeatures: updates [(name, level, upgrade type)] (v0: type 2
    means allow_downgrade).  Returns (error, message, [(feature, error,
    message)])."""
    body = struct.pack(">i", 30000) + uvarint(len(updates) + 1)
    for name, level, kind in updates:
        body += compact_str(name) + struct.pack(">h", level)
        body += struct.pack(">b", kind) if version >= 1 else bytes([kind == SAFE_DOWNGRADE])
        body += b"\x00"
    if version >= 1:
        body += bytes([validate_only])
    c = Conn(port)
    try:
        r = c.flexible_request(57, version, body + b"\x00")
    finally:
        c.close()
    (_, err) = struct.unpack_from(">ih", r, 0)
    msg, at = read_compact_str(r, 6)
    n, at = read_uvarint(r, at)
    results = []
    for _ in range(n - 1):
        name, at = read_compact_str(r, at)
        (e,) = struct.unpack_from(">h", r, at)
        m, at = read_compact_str(r, at + 2)
        _, at = read_uvarint(r, at)
        results.append((name, e, m))
    return err, msg, results


def feature_znode(zkc, chroot):
    data, st = zkc.get(chroot + "/feature")
    return json.loads(data), st.version


@pytest.fixture
def single(zookeeper, tmp_path):
    b = new_broker(zookeeper, str(tmp_path)).start()
    yield b
    stop_cleanly(b)


def test_feature_znode_and_its_epoch_in_api_versions(single, zk_client):
    """The controller creates /feature enabled with no features; ApiVersions
    reports its version as the finalized epoch and follows a change."""
    node, version = feature_znode(zk_client, single.chroot)
    assert node == {"features": {}, "version": 2, "status": 1}
    assert api_versions_features(single.port) == (version, {})
    # Rewritten (as a controller would): the watch brings the new epoch.
    st = zk_client.set(single.chroot + "/feature", json.dumps(node).encode())
    assert st.version == version + 1
    wait_for(lambda: api_versions_features(single.port) == (st.version, {}), 30,
             "the new /feature epoch in ApiVersions")


def test_kafka_features_tool(single):
    """Kafka 3.9.1's kafka-features, word for word as against Kafka."""
    fc = kafka_tools("org.apache.kafka.tools.FeatureCommand") + [
        "--bootstrap-server", f"127.0.0.1:{single.port}"]
    expected = [
        (["describe"], 0, ""),
        (["upgrade", "--feature", "foo.bar=1"], 1,
         "Could not upgrade foo.bar to 1. " + NOT_SUPPORTED + "\n"),
        (["upgrade", "--feature", "foo.bar=1", "--dry-run"], 1,
         "Can not upgrade foo.bar to 1. " + NOT_SUPPORTED + "\n"),
        (["downgrade", "--feature", "foo.bar=1"], 1,
         "Could not downgrade foo.bar to 1. " + NOT_SUPPORTED + "\n"),
        (["disable", "--feature", "foo.bar"], 1,
         "Could not disable foo.bar. Can not delete non-existing finalized feature.\n"),
        (["upgrade", "--metadata", "3.9"], 1,
         "Could not upgrade metadata.version to 21. " + NOT_SUPPORTED + "\n"),
    ]
    for args, rc, out in expected:
        r = subprocess.run(fc + args, capture_output=True, text=True, timeout=120)
        assert (r.returncode, r.stdout) == (rc, out), (args, r.stdout, r.stderr[-2000:])
        if rc:
            assert "1 out of 1 operation(s) failed." in r.stderr


def test_update_features_checks(single):
    """Each of the controller's checks, with its message, in one request
    and across versions; a name's first update is the one answered."""
    err, msg, results = update_features(single.port, [
        ("", 1, UPGRADE),
        ("a", 1, 9),
        ("b", 0, UPGRADE),
        ("c", 0, SAFE_DOWNGRADE),
        ("d", -1, UNSAFE_DOWNGRADE),
        ("e", 2, UPGRADE),
        ("e", 0, SAFE_DOWNGRADE),
        ("f", 3, SAFE_DOWNGRADE),
    ])
    assert (err, msg) == (0, None)
    assert sorted(results) == sorted([
        ("", INVALID_REQUEST, "Feature name can not be empty."),
        ("a", INVALID_REQUEST, "Received unknown upgrade type."),
        ("b", INVALID_REQUEST, "Can not provide versionLevel: 0 less than 1 without setting the SAFE "
                               "downgradeType in the request."),
        ("c", INVALID_REQUEST, "Can not delete non-existing finalized feature."),
        ("d", INVALID_REQUEST, "Can not delete non-existing finalized feature."),
        ("e", INVALID_REQUEST, NOT_SUPPORTED),
        ("f", INVALID_REQUEST, NOT_SUPPORTED),
    ])
    # v0: allow_downgrade instead of the upgrade type.
    _, _, results = update_features(single.port, [("g", 0, SAFE_DOWNGRADE), ("h", 0, UPGRADE)], version=0)
    assert sorted(results) == [
        ("g", INVALID_REQUEST, "Can not delete non-existing finalized feature."),
        ("h", INVALID_REQUEST, "Can not provide versionLevel: 0 less than 1 without setting the SAFE "
                               "downgradeType in the request.")]
    assert update_features(single.port, []) == (0, None, [])


def test_envelope_closes_the_connection(single):
    """Kafka accepts Envelope only while migrating to KRaft; otherwise it
    closes the connection, and other connections go on."""
    inner = frame(18, 0, 7, b"")[4:]                # an ApiVersions v0, unframed
    body = (b"\x00" + uvarint(len(inner) + 1) + inner  # header tags, request_data
            + uvarint(0)                                # request_principal: null
            + uvarint(5) + bytes([127, 0, 0, 1])        # client_host_address
            + b"\x00")
    c = Conn(single.port)
    try:
        c.s.sendall(frame(58, 0, 1, body))
        assert c.closed_by_peer()
    finally:
        c.close()
    assert api_versions_features(single.port)[0] >= 0


def test_only_the_controller_updates_features(zookeeper, tmp_path):
    """A broker that is not the controller answers NOT_CONTROLLER; every
    broker reports the same /feature epoch."""
    c = Cluster(zookeeper, str(tmp_path), [KIND] * 2).start()
    try:
        ctl = c.controller()
        other = next(i for i in c.live_ids() if i != ctl)
        assert update_features(c.broker(other).port, [("foo", 1, UPGRADE)]) == (
            NOT_CONTROLLER, "This is not the correct controller for this cluster.", [])
        assert update_features(c.broker(ctl).port, [("foo", 1, UPGRADE)]) == (
            0, None, [("foo", INVALID_REQUEST, NOT_SUPPORTED)])
        _, version = feature_znode(c.zkc, c.chroot)
        for i in (ctl, other):
            wait_for(lambda: api_versions_features(c.broker(i).port) == (version, {}), 30,
                     f"broker {i}'s finalized epoch")
    finally:
        c.stop()


@samsa_only
def test_mixed_cluster_samsa_follows_then_takes_over_feature_znode(zookeeper, tmp_path):
    """With a Kafka 3.9.1 controller, samsa reports the /feature Kafka wrote
    and refers UpdateFeatures to it; once Kafka is gone samsa's controller
    keeps that /feature as it is and answers."""
    c = Cluster(zookeeper, str(tmp_path), ["kafka", "samsa"]).start()
    try:
        kafka = next(b for b in c.brokers if b.kind == "kafka")
        samsa = next(b for b in c.brokers if b.kind == "samsa")
        wait_for(lambda: c.controller() == kafka.id, 60, "Kafka to be controller")
        node, version = feature_znode(c.zkc, c.chroot)
        assert node == {"features": {}, "version": 2, "status": 1}
        wait_for(lambda: api_versions_features(samsa.port) == (version, {}), 30, "samsa's epoch")
        assert update_features(samsa.port, [("foo", 1, UPGRADE)])[0] == NOT_CONTROLLER
        c.kill9(kafka.id)
        wait_for(lambda: c.controller() == samsa.id, 60, "samsa to be controller")
        wait_for(lambda: update_features(samsa.port, [("foo", 1, UPGRADE)]) == (
            0, None, [("foo", INVALID_REQUEST, NOT_SUPPORTED)]), 30, "samsa's controller to answer")
        assert feature_znode(c.zkc, c.chroot) == (node, version)
    finally:
        c.stop()


@samsa_only
def test_finalized_feature_written_by_others_can_be_deleted(single, zk_client):
    """A finalized feature found in /feature (Kafka's own brokers, which
    support none, refuse to run with one) is reported, checked against as
    Kafka's controller checks, and can be deleted; samsa keeps running."""
    path = single.chroot + "/feature"
    zk_client.set(path, b'{"features":{"x.y":{"max_version_level":3}},"version":2,"status":1}')
    wait_for(lambda: api_versions_features(single.port)[1] == {"x.y": 3}, 30, "x.y in ApiVersions")
    _, _, results = update_features(single.port, [("x.y", 3, UPGRADE)])
    assert results == [("x.y", INVALID_REQUEST, "Can not upgrade a finalized feature from existing "
                                                "versionLevel:3 to the same value.")]
    _, _, results = update_features(single.port, [("x.y", 2, UPGRADE)])
    assert results == [("x.y", INVALID_REQUEST, "Can not downgrade finalized feature from existing "
                        "versionLevel:3 to provided versionLevel:2 without setting the downgradeType "
                        "to SAFE in the request.")]
    _, _, results = update_features(single.port, [("x.y", 4, SAFE_DOWNGRADE)])
    assert results == [("x.y", INVALID_REQUEST, "When the downgradeType is set to SAFE in the request, "
                        "the provided versionLevel:4 can not be greater than existing versionLevel:3.")]
    _, _, results = update_features(single.port, [("x.y", 2, SAFE_DOWNGRADE)])
    assert results == [("x.y", INVALID_REQUEST, NOT_SUPPORTED)]
    assert update_features(single.port, [("x.y", 0, SAFE_DOWNGRADE)]) == (
        0, None, [("x.y", 0, "NONE")])
    node, version = feature_znode(zk_client, single.chroot)
    assert node == {"features": {}, "version": 2, "status": 1}
    wait_for(lambda: api_versions_features(single.port) == (version, {}), 30, "x.y gone")


def test_feature_versioning_off_below_ibp_2_7(zookeeper, tmp_path, zk_client):
    """inter.broker.protocol.version 2.6: /feature is disabled, brokers
    report no finalized features, and UpdateFeatures is refused whole."""
    b = new_broker(zookeeper, str(tmp_path), props={"inter.broker.protocol.version": "2.6"}).start()
    try:
        wait_for(lambda: zk_client.exists(b.chroot + "/feature"), 30, "/feature")
        assert feature_znode(zk_client, b.chroot)[0] == {"features": {}, "version": 1, "status": 0}
        assert api_versions_features(b.port) == (-1, {})
        assert update_features(b.port, [("foo", 1, UPGRADE)]) == (
            INVALID_REQUEST, "Feature versioning system is disabled.", [])
    finally:
        stop_cleanly(b)
