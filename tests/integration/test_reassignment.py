"""Partition reassignment in a three-broker cluster (samsa, or Kafka with
SAMSA_TEST_TARGET=kafka), driven by Apache Kafka 3.9's own
kafka-reassign-partitions (the AlterPartitionReassignments and
ListPartitionReassignments APIs) and by the legacy /admin/reassign_partitions
znode: replicas move with their data, the leader moves off a removed
replica, removed replicas lose their logs, a reassignment survives the
controller's kill -9, a cancelled one puts the old replicas back, and bad
requests get Kafka's errors.  Also /admin/preferred_replica_election."""
import json
import os
import signal
import subprocess
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import TARGET, kafka_tools, tool, unique, wait_for
from kproto import Conn, alter_partition_reassignments_v0
from cluster import Cluster

KIND = "samsa" if TARGET == "samsa" else "kafka"
PROPS = {"replica.lag.time.max.ms": "4000", "zookeeper.session.timeout.ms": "6000",
         "offsets.topic.replication.factor": "3", "auto.leader.rebalance.enable": "false"}
REASSIGN = "org.apache.kafka.tools.reassign.ReassignPartitionsCommand"


def make_cluster(zookeeper, tmp_path):
    return Cluster(zookeeper, str(tmp_path), [KIND] * 3, props=PROPS).start()


def create(bootstrap, topic, assignment):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=len(assignment), replica_assignment=assignment)])[topic].result(30)
    md = lambda: admin.list_topics(topic, timeout=10).topics[topic]
    wait_for(lambda: md().error is None and len(md().partitions) == len(assignment) and
             all(p.leader >= 0 and len(p.isrs) == len(assignment[p.id])
                 for p in md().partitions.values()), 60, "every partition led, ISR full")


def produce(bootstrap, topic, partitions, n):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    sent = {q: [] for q in range(partitions)}
    for i in range(n):
        q = i % partitions
        p.produce(topic, key=f"k{i}".encode(), value=f"v{i}".encode(), partition=q)
        sent[q].append((f"k{i}".encode(), f"v{i}".encode()))
    assert p.flush(60) == 0
    return sent


def read_all(bootstrap, topic, partition, n):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g"),
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, partition, 0)])
    got = []
    try:
        wait_for(lambda: got.extend((m.offset(), m.key(), m.value())
                                    for m in c.consume(500, 1.0) if not m.error()) or len(got) >= n,
                 60, f"{n} records of {topic}-{partition}")
    finally:
        c.close()
    return got


def reassign_tool(cluster, *args, check=True, avoid=()):
    """Runs kafka-reassign-partitions; brokers in avoid (stopped ones) are
    left out of its bootstrap list."""
    bootstrap = ",".join(b.bootstrap for b in cluster.brokers if b.id not in avoid)
    r = subprocess.run(kafka_tools(REASSIGN) + ["--bootstrap-server", bootstrap, *args],
                       capture_output=True, text=True, timeout=180)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def plan_file(tmp_path, topic, targets):
    f = os.path.join(str(tmp_path), unique("plan") + ".json")
    with open(f, "w") as out:
        json.dump({"version": 1, "partitions": [{"topic": topic, "partition": p, "replicas": r,
                                                  "log_dirs": ["any"] * len(r)}
                                                 for p, r in targets.items()]}, out)
    return f


def assignment_znode(cluster, topic):
    return json.loads(cluster.zkc.get(f"{cluster.chroot}/brokers/topics/{topic}")[0])


def metadata_replicas(bootstrap, topic):
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10).topics[topic]
    return {p.id: (list(p.replicas), sorted(p.isrs), p.leader) for p in md.partitions.values()}


def has_log(cluster, broker_id, topic, p):
    return os.path.isdir(os.path.join(cluster.broker(broker_id).logdir, f"{topic}-{p}"))


def test_reassign_tool_moves_replicas_leader_and_data(zookeeper, tmp_path):
    c = make_cluster(zookeeper, tmp_path)
    try:
        topic = unique("move")
        create(c.bootstrap, topic, [[0, 1], [1, 0]])
        sent = produce(c.bootstrap, topic, 2, 2000)
        # Partition 0 leaves its leader (0) for 2; partition 1 gains 2 and keeps its leader.
        targets = {0: [2, 1], 1: [1, 0, 2]}
        plan = plan_file(tmp_path, topic, targets)
        r = reassign_tool(c, "--reassignment-json-file", plan, "--execute")
        assert f"Successfully started partition reassignments for {topic}-0,{topic}-1" in r.stdout
        assert '"replicas":[0,1]' in r.stdout    # the rollback plan holds the old assignment

        def verified():
            out = reassign_tool(c, "--reassignment-json-file", plan, "--verify").stdout
            return all(f"Reassignment of partition {topic}-{p} is completed." in out for p in targets)
        wait_for(verified, 90, "kafka-reassign-partitions --verify to report completion")
        z = assignment_znode(c, topic)
        assert z["partitions"] == {"0": [2, 1], "1": [1, 0, 2]}
        assert not z.get("adding_replicas") and not z.get("removing_replicas")
        wait_for(lambda: metadata_replicas(c.bootstrap, topic)[0][:2] == ([2, 1], [1, 2]) and
                 metadata_replicas(c.bootstrap, topic)[1][:2] == ([1, 0, 2], [0, 1, 2]), 30,
                 "metadata to show the new replicas and ISR")
        md = metadata_replicas(c.bootstrap, topic)
        assert md[0][2] in (2, 1) and md[1][2] == 1
        wait_for(lambda: not has_log(c, 0, topic, 0), 30, "the removed replica's log to go")
        assert has_log(c, 2, topic, 0) and has_log(c, 2, topic, 1)
        # Every record, at its offset, from the new replica set (leaders
        # and a new follower alike hold it all).
        for p in (0, 1):
            got = read_all(c.bootstrap, topic, p, len(sent[p]))
            assert [(k, v) for _, k, v in got] == sent[p]
            assert [o for o, _, _ in got] == list(range(len(sent[p])))
        r = reassign_tool(c, "--list")
        assert "No partition reassignments found." in r.stdout
    finally:
        c.stop()


def test_reassignment_resumes_after_controller_kill9(zookeeper, tmp_path):
    c = make_cluster(zookeeper, tmp_path)
    try:
        topic = unique("failover")
        ctl = c.controller()
        others = [b for b in range(3) if b != ctl]
        leader, newcomer = others
        create(c.bootstrap, topic, [[leader]])
        sent = produce(c.bootstrap, topic, 1, 500)
        # The new replica cannot catch up while it is stopped.
        os.kill(c.broker(newcomer).proc.pid, signal.SIGSTOP)
        try:
            plan = plan_file(tmp_path, topic, {0: [leader, newcomer]})
            reassign_tool(c, "--reassignment-json-file", plan, "--execute", avoid=[newcomer])
            z = assignment_znode(c, topic)
            assert z["partitions"]["0"] == [leader, newcomer]
            assert z["adding_replicas"] == {"0": [newcomer]} and not z.get("removing_replicas")
            out = reassign_tool(c, "--list", avoid=[newcomer]).stdout
            assert f"{topic}-0: replicas: {leader},{newcomer}. adding: {newcomer}." in out
            out = subprocess.run([tool("samsa-topics"), "--bootstrap-server", c.broker(leader).bootstrap,
                                  "--describe", "--topic", topic], capture_output=True, text=True,
                                 timeout=60, check=True).stdout.splitlines()
            assert "\tReplicationFactor: 1\t" in out[0], out
            assert out[1].endswith(f"\tReplicas: {leader},{newcomer}\tIsr: {leader}"
                                   f"\tAdding Replicas: {newcomer}\tRemoving Replicas: "), out
            c.kill9(ctl)
            wait_for(lambda: c.controller() not in (None, ctl), 30, "a new controller")
        finally:
            os.kill(c.broker(newcomer).proc.pid, signal.SIGCONT)
        c.restart(ctl)
        wait_for(lambda: not assignment_znode(c, topic).get("adding_replicas"), 90,
                 "the new controller to finish the reassignment")
        assert assignment_znode(c, topic)["partitions"]["0"] == [leader, newcomer]
        wait_for(lambda: sorted(c.partition_state(topic, 0)["isr"]) == sorted([leader, newcomer]),
                 30, "both replicas in the ISR")
        got = read_all(c.bootstrap, topic, 0, len(sent[0]))
        assert [(k, v) for _, k, v in got] == sent[0]
    finally:
        c.stop()


def test_deletion_during_a_reassignment_goes_ahead(zookeeper, tmp_path):
    """A topic deleted while a partition of it is being reassigned goes, as
    in Kafka 3.9 (whose controller marks such a topic ineligible for
    deletion before queueing it, so the mark does nothing): DeleteTopics
    succeeds, every replica's log goes (the stopped new replica's once it
    runs again) and no reassignment of it is left listed."""
    c = make_cluster(zookeeper, tmp_path)
    try:
        topic = unique("del")
        ctl = c.controller()
        leader, newcomer = [b for b in range(3) if b != ctl]
        create(c.bootstrap, topic, [[leader]])
        produce(c.bootstrap, topic, 1, 200)
        live = c.broker(leader).bootstrap + "," + c.broker(ctl).bootstrap
        os.kill(c.broker(newcomer).proc.pid, signal.SIGSTOP)
        try:
            plan = plan_file(tmp_path, topic, {0: [leader, newcomer]})
            reassign_tool(c, "--reassignment-json-file", plan, "--execute", avoid=[newcomer])
            assert assignment_znode(c, topic)["adding_replicas"] == {"0": [newcomer]}
            admin = AdminClient({"bootstrap.servers": live})
            admin.delete_topics([topic], operation_timeout=20)[topic].result(60)
            assert topic not in admin.list_topics(timeout=10).topics
        finally:
            os.kill(c.broker(newcomer).proc.pid, signal.SIGCONT)
        wait_for(lambda: not c.zkc.exists(f"{c.chroot}/brokers/topics/{topic}"), 90,
                 "the topic's znode to go")
        wait_for(lambda: not c.zkc.exists(f"{c.chroot}/admin/delete_topics/{topic}"), 30,
                 "the deletion marker to go")
        wait_for(lambda: not any(has_log(c, b, topic, 0) for b in range(3)), 60,
                 "every replica's log removed")
        # (Kafka lists the reassignment until the deletion is complete;
        # samsa drops it at once.)
        wait_for(lambda: topic not in reassign_tool(c, "--list").stdout, 30,
                 "no reassignment of the deleted topic listed")
    finally:
        c.stop()


def test_cancel_puts_the_old_replicas_back(zookeeper, tmp_path):
    c = make_cluster(zookeeper, tmp_path)
    try:
        topic = unique("cancel")
        ctl = c.controller()
        stopped = [b for b in range(3) if b != ctl][0]
        keep = [b for b in range(3) if b != stopped]
        create(c.bootstrap, topic, [keep])
        produce(c.bootstrap, topic, 1, 100)
        epoch_before = c.partition_state(topic, 0)["leader_epoch"]
        os.kill(c.broker(stopped).proc.pid, signal.SIGSTOP)
        try:
            plan = plan_file(tmp_path, topic, {0: [stopped, keep[0]]})
            reassign_tool(c, "--reassignment-json-file", plan, "--execute", avoid=[stopped])
            z = assignment_znode(c, topic)
            assert z["partitions"]["0"] == [stopped, keep[0], keep[1]]
            assert z["adding_replicas"] == {"0": [stopped]}
            assert z["removing_replicas"] == {"0": [keep[1]]}
            r = reassign_tool(c, "--reassignment-json-file", plan, "--cancel",
                              "--preserve-throttles", avoid=[stopped])
            assert f"Successfully cancelled partition reassignment for: {topic}-0" in r.stdout
            z = assignment_znode(c, topic)
            assert z["partitions"]["0"] == keep
            assert not z.get("adding_replicas") and not z.get("removing_replicas")
            st = c.partition_state(topic, 0)
            assert sorted(st["isr"]) == sorted(keep) and st["leader_epoch"] > epoch_before
            r = reassign_tool(c, "--reassignment-json-file", plan, "--cancel",
                              "--preserve-throttles", avoid=[stopped])
            assert "None of the specified partition reassignments are active." in r.stdout
        finally:
            os.kill(c.broker(stopped).proc.pid, signal.SIGCONT)
    finally:
        c.stop()


def test_bad_reassignments_get_kafkas_errors(zookeeper, tmp_path):
    c = make_cluster(zookeeper, tmp_path)
    try:
        topic = unique("bad")
        create(c.bootstrap, topic, [[0, 1], [1, 0]])
        # The tool refuses some plans itself; the broker answers the rest.
        r = reassign_tool(c, "--reassignment-json-file", plan_file(tmp_path, topic, {0: [2, 7]}),
                          "--execute", check=False)
        assert r.returncode != 0 and "Unknown broker id 7" in r.stdout
        r = reassign_tool(c, "--reassignment-json-file", plan_file(tmp_path, topic, {5: [0, 1]}),
                          "--execute", check=False)
        assert r.returncode != 0 and f"Unable to find partition: {topic}-5" in r.stdout
        # Raw requests to the controller, and to a broker that is not it.
        ctl = c.controller()
        conn = Conn(c.broker(ctl).port)
        try:
            err, msg, parts = alter_partition_reassignments_v0(conn, topic, {
                0: [0, 7], 1: [1, 1], 2: [0, 1], 3: [-1, 0]})
            assert err == 0 and msg == "", (err, msg)
            assert parts[0] == (39, "Replica assignment has brokers that are not alive. Replica "
                                    "list: ArrayBuffer(7), live broker list: Set(0, 1, 2)")
            assert parts[1] == (39, "Duplicate replica ids in partition reassignment replica "
                                    "list: ArrayBuffer(1, 1)")
            assert parts[2] == (3, "The partition does not exist.")
            assert parts[3] == (39, "Invalid broker id in replica list: ArrayBuffer(-1, 0)")
            err, msg, parts = alter_partition_reassignments_v0(conn, topic, {0: None, 1: []})
            assert parts[0] == (85, "No partition reassignment is in progress.")
            assert parts[1] == (39, "Empty replica list specified in partition reassignment.")
            err, msg, parts = alter_partition_reassignments_v0(conn, unique("none"), {0: [0]})
            assert parts[0] == (3, "The partition does not exist.")
        finally:
            conn.close()
        other = Conn(c.broker((ctl + 1) % 3).port)
        try:
            err, msg, parts = alter_partition_reassignments_v0(other, topic, {0: [1, 0]})
            assert (err, msg, parts) == (41, "This is not the correct controller for this cluster.", {})
        finally:
            other.close()
        assert assignment_znode(c, topic)["partitions"] == {"0": [0, 1], "1": [1, 0]}
    finally:
        c.stop()


def test_legacy_znodes_reassign_and_elect_preferred(zookeeper, tmp_path):
    c = make_cluster(zookeeper, tmp_path)
    try:
        topic = unique("znode")
        create(c.bootstrap, topic, [[0, 1], [1, 2]])
        sent = produce(c.bootstrap, topic, 2, 400)
        path = f"{c.chroot}/admin/reassign_partitions"
        c.zkc.create(path, json.dumps({"version": 1, "partitions": [
            {"topic": topic, "partition": 0, "replicas": [1, 2]},
            {"topic": unique("missing"), "partition": 0, "replicas": [0]}]}).encode())
        wait_for(lambda: not c.zkc.exists(path), 90, "the controller to finish and delete the znode")
        assert assignment_znode(c, topic)["partitions"] == {"0": [1, 2], "1": [1, 2]}
        wait_for(lambda: sorted(c.partition_state(topic, 0)["isr"]) == [1, 2], 30, "ISR [1, 2]")
        got = read_all(c.bootstrap, topic, 0, len(sent[0]))
        assert [(k, v) for _, k, v in got] == sent[0]
        # Leadership of partition 1 moves off its preferred replica (1),
        # then the znode asks for it back.
        c.restart(1)
        wait_for(lambda: c.leader(topic, 1) == 2 and sorted(c.partition_state(topic, 1)["isr"]) == [1, 2],
                 60, "broker 2 leading partition 1 with 1 back in sync")
        epath = f"{c.chroot}/admin/preferred_replica_election"
        c.zkc.create(epath, json.dumps({"version": 1, "partitions": [
            {"topic": topic, "partition": 1}]}).encode())
        wait_for(lambda: c.leader(topic, 1) == 1, 60, "the preferred replica to lead again")
        wait_for(lambda: not c.zkc.exists(epath), 30, "the election znode to go")
    finally:
        c.stop()


def test_throttled_reassignment_copies_at_the_throttled_rate(zookeeper, tmp_path):
    """kafka-reassign-partitions --throttle: the tool sets the brokers'
    leader/follower.replication.throttled.rate and the topic's throttled
    replicas; the new replica then copies at about that rate (after the
    quota window's first allowance), and --verify removes the throttle."""
    c = Cluster(zookeeper, str(tmp_path), [KIND] * 3,
                props={**PROPS, "replica.fetch.max.bytes": "65536",
                       "replica.fetch.response.max.bytes": "65536"}).start()
    try:
        topic = unique("thr")
        create(c.bootstrap, topic, [[0]])
        p = Producer({"bootstrap.servers": c.bootstrap, "acks": "all", "linger.ms": 20,
                      "batch.size": 16384})
        for i in range(3000):
            p.produce(topic, value=os.urandom(1000), partition=0)
        assert p.flush(60) == 0
        total = sum(os.path.getsize(os.path.join(c.broker(0).logdir, f"{topic}-0", f))
                    for f in os.listdir(os.path.join(c.broker(0).logdir, f"{topic}-0"))
                    if f.endswith(".log"))
        plan = plan_file(tmp_path, topic, {0: [0, 1]})
        r = reassign_tool(c, "--reassignment-json-file", plan, "--execute", "--throttle", "100000")
        assert "The inter-broker throttle limit was set to 100000 B/s" in r.stdout, r.stdout
        cfg = AdminClient({"bootstrap.servers": c.bootstrap})
        from confluent_kafka.admin import ConfigResource
        topic_cfg = cfg.describe_configs([ConfigResource("topic", topic)])
        entries = list(topic_cfg.values())[0].result(30)
        assert entries["leader.replication.throttled.replicas"].value == "0:0"
        assert entries["follower.replication.throttled.replicas"].value == "0:1"

        def copied():
            d = os.path.join(c.broker(1).logdir, f"{topic}-0")
            if not os.path.isdir(d):
                return 0
            return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.endswith(".log"))
        time.sleep(4)
        # Unthrottled, 3 MB copy in well under a second; throttled, the
        # quota window's allowance (ten 1 s windows at 100 kB/s: 1 MB) and
        # then nothing until the rate falls below the bound.
        assert copied() < total * 0.6, (copied(), total)

        def verified():
            out = reassign_tool(c, "--reassignment-json-file", plan, "--verify").stdout
            return "Reassignment of partition %s-0 is completed." % topic in out and \
                "Clearing topic-level throttles on topic %s" % topic in out
        wait_for(verified, 120, "the throttled reassignment to complete")
        assert copied() == total
        entries = list(cfg.describe_configs([ConfigResource("topic", topic)]).values())[0].result(30)
        assert entries["leader.replication.throttled.replicas"].value == ""
    finally:
        c.stop()
