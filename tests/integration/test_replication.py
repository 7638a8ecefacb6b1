"""Replication in a three-broker cluster (samsa, or Kafka with
SAMSA_TEST_TARGET=kafka): acks=all producers keep every acknowledged record
through a leader's and a controller's kill -9, replicas end up identical,
min.insync.replicas refuses writes with Kafka's errors, and the ISR shrinks
and grows as a follower stops and resumes (in ZooKeeper and in
samsa-topics --describe)."""
import glob
import os
import signal
import time

from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import TARGET, tool, unique, wait_for
from cluster import AckedLog, Cluster, check_acked

import subprocess

KIND = "samsa" if TARGET == "samsa" else "kafka"
PROPS = {"replica.lag.time.max.ms": "4000", "offsets.topic.replication.factor": "3",
         "zookeeper.session.timeout.ms": "6000", "default.replication.factor": "3"}


def make_cluster(zookeeper, tmp_path, n=3, **extra):
    return Cluster(zookeeper, str(tmp_path), [KIND] * n, props={**PROPS, **extra}).start()


def create_topic(bootstrap, topic, partitions, rf=3, configs=None):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, rf, config=configs or {})])[topic].result(30)
    md = lambda: admin.list_topics(topic, timeout=10).topics[topic]
    wait_for(lambda: md().error is None and len(md().partitions) == partitions and
             all(p.leader >= 0 and len(p.isrs) == rf for p in md().partitions.values()),
             60, "every partition led with a full ISR")


def isr(cluster, topic, p):
    st = cluster.partition_state(topic, p)
    return sorted(st["isr"]) if st else None


def replica_files(cluster, topic, p, broker_ids):
    """The bytes of every segment of topic-p on each broker."""
    out = {}
    for i in broker_ids:
        b = cluster.broker(i)
        files = sorted(glob.glob(os.path.join(b.logdir, f"{topic}-{p}", "*.log")))
        out[i] = b"".join(open(f, "rb").read() for f in files)
    return out


def wait_replicas_identical(cluster, topic, partitions, broker_ids, timeout=60):
    def same():
        return all(len(set(replica_files(cluster, topic, p, broker_ids).values())) == 1
                   for p in range(partitions))
    wait_for(same, timeout, "every replica's log to be byte-identical")


def test_acks_all_survives_leader_and_controller_kill9(zookeeper, tmp_path):
    c = make_cluster(zookeeper, tmp_path)
    try:
        topic = unique("rep")
        create_topic(c.bootstrap, topic, 3, configs={"min.insync.replicas": "2"})
        log = AckedLog(c.bootstrap, topic, 3, idempotent=True, rate=300).start()
        wait_for(lambda: len(log.acked) > 300, 60, "records acknowledged")
        # The leader of partition 0 dies.
        victim = c.leader(topic, 0)
        c.kill9(victim)
        wait_for(lambda: c.leader(topic, 0) not in (victim, None, -1), 30, "a new leader for partition 0")
        before = len(log.acked)
        wait_for(lambda: len(log.acked) > before + 300, 60, "acks=all produce with one broker down")
        c.restart(victim)
        wait_for(lambda: all(isr(c, topic, p) == [0, 1, 2] for p in range(3)), 60,
                 "the restarted broker back in every ISR")
        # The controller dies (it may lead partitions too).
        ctl = c.controller()
        c.kill9(ctl)
        wait_for(lambda: c.controller() not in (None, ctl), 30, "a new controller")
        before = len(log.acked)
        wait_for(lambda: len(log.acked) > before + 300, 60, "produce after the controller's death")
        c.restart(ctl)
        wait_for(lambda: all(isr(c, topic, p) == [0, 1, 2] for p in range(3)), 60,
                 "every ISR whole again")
        log.stop()
        assert not log.failed, f"deliveries failed: {log.failed[:3]}"
        read = check_acked(c.bootstrap, topic, 3, log.acked, cluster=c)
        assert read == len(log.acked)
        wait_replicas_identical(c, topic, 3, [0, 1, 2])
    finally:
        c.stop()


def test_min_insync_replicas_refuses_acks_all(zookeeper, tmp_path):
    c = make_cluster(zookeeper, tmp_path)
    try:
        topic = unique("minisr")
        create_topic(c.bootstrap, topic, 1, configs={"min.insync.replicas": "3"})
        follower = [i for i in range(3) if i not in (c.leader(topic, 0), c.controller())][0]
        c.kill9(follower)
        wait_for(lambda: isr(c, topic, 0) is not None and len(isr(c, topic, 0)) == 2, 30,
                 "the ISR without the dead follower")
        live = ",".join(c.broker(i).bootstrap for i in range(3) if i != follower)
        errors = []
        p = Producer({"bootstrap.servers": live, "acks": "all", "message.timeout.ms": 4000,
                      "enable.idempotence": False, "retries": 0})
        p.produce(topic, b"x", on_delivery=lambda err, m: errors.append(err))
        p.flush(30)
        assert len(errors) == 1 and errors[0] is not None
        assert errors[0].code() == KafkaError.NOT_ENOUGH_REPLICAS, errors[0]
        # acks=1 is not held to min.insync.replicas.
        ok = []
        p1 = Producer({"bootstrap.servers": live, "acks": 1})
        p1.produce(topic, b"y", on_delivery=lambda err, m: ok.append(err))
        p1.flush(30)
        assert ok == [None]
    finally:
        c.stop()


def describe_isr(bootstrap, topic):
    out = subprocess.run([tool("samsa-topics"), "--bootstrap-server", bootstrap, "--describe", "--topic", topic],
                         capture_output=True, text=True, timeout=60).stdout
    line = [l for l in out.splitlines() if "Partition: 0" in l][0]
    return line.split("Isr: ")[1].strip().split("\t")[0]


def test_isr_shrinks_and_expands(zookeeper, tmp_path):
    c = make_cluster(zookeeper, tmp_path, **{"replica.lag.time.max.ms": "3000",
                                             "zookeeper.session.timeout.ms": "15000"})
    try:
        topic = unique("isr")
        create_topic(c.bootstrap, topic, 1)
        leader = c.leader(topic, 0)
        # Not the controller: a frozen controller cannot change any ISR.
        follower = [i for i in range(3) if i not in (leader, c.controller())][0]
        p = Producer({"bootstrap.servers": c.bootstrap, "acks": 1})
        pid = c.broker(follower).proc.pid
        # Stopped for longer than replica.lag.time.max.ms (3 s) but less
        # than the ZooKeeper session (15 s): it stays registered, leaves the ISR.
        os.kill(pid, signal.SIGSTOP)
        try:
            deadline = time.time() + 10
            while time.time() < deadline and follower in (isr(c, topic, 0) or []):
                p.produce(topic, b"v")
                p.poll(0)
                time.sleep(0.05)
            shrunk = isr(c, topic, 0)
            assert follower not in shrunk, f"ISR {shrunk} still has the stopped follower"
            # Brokers learn the new ISR (UpdateMetadata) and describe shows it.
            wait_for(lambda: sorted(int(x) for x in describe_isr(c.bootstrap, topic).split(",")) == shrunk,
                     10, "describe to show the shrunk ISR")
        finally:
            os.kill(pid, signal.SIGCONT)
        p.flush(30)
        wait_for(lambda: isr(c, topic, 0) == [0, 1, 2], 30, "the follower back in the ISR")
        wait_for(lambda: sorted(int(x) for x in describe_isr(c.bootstrap, topic).split(",")) == [0, 1, 2],
                 30, "describe to show the whole ISR")
        wait_replicas_identical(c, topic, 1, [0, 1, 2])
    finally:
        c.stop()


def test_sigterm_moves_leadership_before_exit(zookeeper, tmp_path):
    """Controlled shutdown: the stopping broker's partitions get new leaders
    and it leaves every ISR before the process exits."""
    c = make_cluster(zookeeper, tmp_path)
    try:
        topic = unique("cds")
        create_topic(c.bootstrap, topic, 6, configs={"min.insync.replicas": "2"})
        log = AckedLog(c.bootstrap, topic, 6, idempotent=True, rate=300).start()
        wait_for(lambda: len(log.acked) > 200, 60, "records acknowledged")
        victim = c.leader(topic, 0)
        led = [p for p in range(6) if c.leader(topic, p) == victim]
        assert c.terminate(victim) == 0
        # By the time it exited, nothing was left to it (its ephemeral
        # registration went with the process, so ZooKeeper already shows
        # the outcome of the controlled shutdown, not of a failure).
        for p in led:
            st = c.partition_state(topic, p)
            assert st["leader"] != victim and victim not in st["isr"], (p, st)
        before = len(log.acked)
        wait_for(lambda: len(log.acked) > before + 200, 60, "produce with the broker gone")
        c.restart(victim)
        log.stop()
        assert not log.failed, f"deliveries failed: {log.failed[:3]}"
        check_acked(c.bootstrap, topic, 6, log.acked, cluster=c)
        if KIND == "samsa":
            assert "Controlled shutdown succeeded" in c.broker(victim).log_text()
    finally:
        c.stop()


def test_unreplicated_tail_is_truncated_when_the_old_leader_returns(zookeeper, tmp_path):
    """KIP-101/279: records only the leader had (its followers were frozen)
    vanish from it when it comes back as a follower of the new leader, which
    never had them; everything acknowledged by the ISR stays, and the
    replicas end byte-identical."""
    c = make_cluster(zookeeper, tmp_path)
    try:
        topic = unique("trunc")
        create_topic(c.bootstrap, topic, 1)
        acked_all = []
        p = Producer({"bootstrap.servers": c.bootstrap, "acks": "all", "linger.ms": 0})
        for i in range(50):
            p.produce(topic, b"before-%d" % i, partition=0,
                      on_delivery=lambda err, m: acked_all.append(m.value()) if err is None else None)
        p.flush(30)
        assert len(acked_all) == 50
        leader = c.leader(topic, 0)
        followers = [i for i in range(3) if i != leader]
        leader_b = c.broker(leader)
        # Freeze the followers, write a tail only the leader gets (acks=1),
        # kill the leader, thaw the followers: one of them leads next.
        for f in followers:
            os.kill(c.broker(f).proc.pid, signal.SIGSTOP)
        try:
            tail = Producer({"bootstrap.servers": leader_b.bootstrap, "acks": 1, "linger.ms": 0})
            tail_acked = []
            # One request each: a fetch parked before the freeze can carry
            # only what the first one appended to the frozen followers.
            for i in range(20):
                tail.produce(topic, b"tail-%d" % i, partition=0,
                             on_delivery=lambda err, m: tail_acked.append(m.offset()) if err is None else None)
                tail.flush(10)
            assert len(tail_acked) == 20
            c.kill9(leader)
        finally:
            for f in followers:
                os.kill(c.broker(f).proc.pid, signal.SIGCONT)
        wait_for(lambda: c.leader(topic, 0) in followers, 60, "a follower to lead")
        for i in range(30):
            p.produce(topic, b"after-%d" % i, partition=0,
                      on_delivery=lambda err, m: acked_all.append(m.value()) if err is None else None)
        p.flush(60)
        assert len(acked_all) == 80
        c.restart(leader)
        wait_for(lambda: isr(c, topic, 0) == [0, 1, 2], 60, "the old leader back in the ISR")
        wait_replicas_identical(c, topic, 1, [0, 1, 2])
        # What every replica holds: the acknowledged records, not the tail.
        from confluent_kafka import Consumer, TopicPartition
        cons = Consumer({"bootstrap.servers": c.bootstrap, "group.id": unique("g"),
                         "enable.auto.commit": False})
        cons.assign([TopicPartition(topic, 0, 0)])
        got = []
        deadline = time.time() + 30
        while len(got) < 80 and time.time() < deadline:
            got += [m.value() for m in cons.consume(100, 1.0) if m.error() is None]
        cons.close()
        # A follower frozen with a fetch parked at the leader may still have
        # had the first tail batch sent into its socket: a prefix of the
        # tail can survive (the new leader has it), the rest must be gone.
        before, after = acked_all[:50], acked_all[50:]
        assert got[:50] == before
        cut = got.index(after[0])
        kept = got[50:cut]
        assert kept == [b"tail-%d" % i for i in range(len(kept))], kept
        assert len(kept) < 20, "nothing of the unreplicated tail was truncated"
        assert got[cut:] == after, (len(got), got[cut:cut + 3])
    finally:
        c.stop()


def test_committed_offsets_survive_the_coordinators_death(zookeeper, tmp_path):
    """__consumer_offsets with replication factor 3: a commit is answered
    once replicated, and after the coordinator's kill -9 the new leader of
    the group's offsets partition serves the same committed offset."""
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient as Admin
    c = make_cluster(zookeeper, tmp_path)
    try:
        topic, group = unique("co"), unique("g")
        create_topic(c.bootstrap, topic, 1)
        cons = Consumer({"bootstrap.servers": c.bootstrap, "group.id": group,
                         "enable.auto.commit": False})
        def commit():
            try:
                return cons.commit(offsets=[TopicPartition(topic, 0, 42)], asynchronous=False)
            except Exception:   # the offsets topic is created on demand
                return None
        wait_for(lambda: commit() is not None, 60, "the first commit")
        cons.close()
        admin = Admin({"bootstrap.servers": c.bootstrap})
        desc = admin.describe_consumer_groups([group])[group].result(30)
        coordinator = desc.coordinator.id
        c.kill9(coordinator)
        live = ",".join(c.broker(i).bootstrap for i in range(3) if i != coordinator)

        def committed():
            c2 = Consumer({"bootstrap.servers": live, "group.id": group, "enable.auto.commit": False})
            try:
                return c2.committed([TopicPartition(topic, 0)], timeout=10)[0].offset
            except Exception:
                return None
            finally:
                c2.close()
        wait_for(lambda: committed() == 42, 90, "the committed offset from the new coordinator")
    finally:
        c.stop()


def preferred_leaders_hold(c, topic, n):
    return all(c.leader(topic, p) == preferred(c, topic, p) for p in range(n))


def preferred(c, topic, p):
    import json as _json
    data = c.zkc.get(f"{c.chroot}/brokers/topics/{topic}")[0]
    return _json.loads(data)["partitions"][str(p)][0]


def test_preferred_leaders_come_back(zookeeper, tmp_path):
    """After a broker's restart its partitions are led elsewhere; the
    controller's imbalance check (leader.imbalance.check.interval.seconds)
    gives them back, and ElectLeaders answers per partition as Kafka does."""
    from confluent_kafka import ElectionType, TopicPartition
    c = make_cluster(zookeeper, tmp_path, **{"leader.imbalance.check.interval.seconds": "3"})
    try:
        topic = unique("pref")
        create_topic(c.bootstrap, topic, 3)
        assert preferred_leaders_hold(c, topic, 3)
        victim = c.leader(topic, 0)
        c.kill9(victim)
        wait_for(lambda: c.leader(topic, 0) not in (victim, None, -1), 30, "a new leader")
        c.restart(victim)
        wait_for(lambda: preferred_leaders_hold(c, topic, 3), 60,
                 "the restarted broker leading its preferred partitions again")
        # Nothing to do now: ELECTION_NOT_NEEDED; an unknown partition too.
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        res = admin.elect_leaders(ElectionType.PREFERRED,
                                  [TopicPartition(topic, 0), TopicPartition(topic, 9)]).result(30)
        codes = {tp.partition: (err.code() if err else None) for tp, err in res.items()}
        assert codes == {0: KafkaError.ELECTION_NOT_NEEDED, 9: KafkaError.UNKNOWN_TOPIC_OR_PART}, codes
    finally:
        c.stop()


def test_controlled_shutdown_requests_are_checked(zookeeper, tmp_path):
    """ControlledShutdown v1 as Kafka answers it: STALE_CONTROLLER_EPOCH
    (Kafka's ControllerMovedException) from a broker that is not the
    controller, BROKER_NOT_AVAILABLE for a broker id that is not registered;
    the brokers carry on."""
    import struct
    from kproto import Conn
    c = make_cluster(zookeeper, tmp_path)
    try:
        ctl = c.controller()
        other = [i for i in range(3) if i != ctl][0]

        def shutdown_error(broker_id, to):
            body = Conn(c.broker(to).port).request(7, 1, struct.pack(">i", broker_id))
            return struct.unpack_from(">h", body, 0)[0]
        assert shutdown_error(99, ctl) == 8        # BROKER_NOT_AVAILABLE
        assert shutdown_error(other, other) == 11  # STALE_CONTROLLER_EPOCH
        topic = unique("after")
        create_topic(c.bootstrap, topic, 1)
        assert isr(c, topic, 0) == [0, 1, 2]
    finally:
        c.stop()


def test_transactions_across_brokers_survive_the_coordinators_kill9(zookeeper, tmp_path):
    """Three brokers, __transaction_state with replication factor 3: a
    transaction spans partitions led by every broker (markers go to each
    leader as WriteTxnMarkers), one commits, one aborts, one is left open;
    the transaction coordinator is killed -9; a new producer with the same
    transactional.id finds the new coordinator, which loaded the
    replicated state, fences and aborts the open transaction and commits a
    new one.  read_committed then shows exactly the committed records."""
    import struct
    from confluent_kafka import Consumer, TopicPartition
    from kproto import Conn, kstr
    c = make_cluster(zookeeper, tmp_path, **{"transaction.state.log.replication.factor": "3",
                                             "transaction.state.log.min.isr": "2"})
    try:
        topic, tid = unique("txn-rf3"), unique("tid")
        create_topic(c.bootstrap, topic, 3)

        def producer(bootstrap):
            p = Producer({"bootstrap.servers": bootstrap, "transactional.id": tid,
                          "linger.ms": 5})
            p.init_transactions(90)
            return p

        def write(p, tag, end):
            p.begin_transaction()
            for part in range(3):
                for i in range(10):
                    p.produce(topic, key=b"%s-%d-%d" % (tag, part, i), value=b"v", partition=part)
            p.flush(30)
            if end == "commit":
                p.commit_transaction(60)
            elif end == "abort":
                p.abort_transaction(60)
        p = producer(c.bootstrap)
        write(p, b"one", "commit")
        write(p, b"two", "abort")
        write(p, b"three", None)

        conn = Conn(c.broker(0).port)
        body = conn.request(10, 1, kstr(tid) + struct.pack(">b", 1))
        conn.close()
        _, err = struct.unpack_from(">ih", body, 0)
        (ml,) = struct.unpack_from(">h", body, 6)
        (coordinator,) = struct.unpack_from(">i", body, 8 + max(ml, 0))
        assert err == 0
        c.kill9(coordinator)
        live = ",".join(c.broker(i).bootstrap for i in range(3) if i != coordinator)
        p2 = producer(live)
        write(p2, b"four", "commit")

        cons = Consumer({"bootstrap.servers": live, "group.id": unique("g"),
                         "isolation.level": "read_committed", "enable.auto.commit": False})
        # Per partition: 10 records and a marker for each of the four transactions.
        cons.assign([TopicPartition(topic, part, 0) for part in range(3)])
        got = []

        def read_all():
            got.extend(m.key() for m in cons.consume(500, 0.5) if not m.error())
            pos = cons.position([TopicPartition(topic, part) for part in range(3)])
            return all(tp.offset >= 44 for tp in pos)
        wait_for(read_all, 90, "read_committed to pass the last commit marker")
        cons.close()
        want = sorted(b"%s-%d-%d" % (tag, part, i) for tag in (b"one", b"four")
                      for part in range(3) for i in range(10))
        assert sorted(got) == want
    finally:
        c.stop()


def zk_topics_tools():
    """samsa-topics and Kafka 2.8.2's kafka-topics, for --zookeeper mode."""
    from servers import ensure_kafka
    lib = ensure_kafka("2.8.2")
    return {"samsa": [tool("samsa-topics")],
            "kafka": ["java", "-Xmx256m", "-Dlog4j.configuration=file:/dev/null", "-cp",
                      os.path.join(lib, "*"), "kafka.admin.TopicCommand"]}


def zk_create(cmd, c, topic, *extra):
    return subprocess.run(cmd + ["--zookeeper", c.zk.connect + c.chroot, "--create", "--topic",
                                 topic, "--partitions", "8", "--replication-factor", "2", *extra],
                          capture_output=True, text=True, timeout=120)


def test_rack_aware_replica_placement(zookeeper, tmp_path):
    """broker.rack on every broker: each partition's replicas go to distinct
    racks (Kafka's rack-aware assignment), whether the broker places them
    or samsa-topics / Kafka 2.8's kafka-topics --zookeeper do; with one
    broker missing its rack Kafka refuses to place replicas, and so does
    samsa, and both tools say why (unless --disable-rack-aware)."""
    racks = ["r1", "r2", "r1", "r2"]
    c = Cluster(zookeeper, str(tmp_path), [KIND] * 4, props=PROPS,
                broker_props=lambda i: {"broker.rack": racks[i]}).start()
    tools = zk_topics_tools()
    try:
        topic = unique("racks")
        create_topic(c.bootstrap, topic, 8, rf=2)
        by_tool = [(kind, unique("zk-racks")) for kind in tools]
        for kind, name in by_tool:
            r = zk_create(tools[kind], c, name)
            assert r.returncode == 0 and r.stdout == f"Created topic {name}.\n", r.stdout + r.stderr
        for t in [topic] + [name for _, name in by_tool]:
            for p in range(8):
                replicas = json_assignment(c, t)[str(p)]
                assert sorted(racks[r] for r in replicas) == ["r1", "r2"], (t, p, replicas)
    finally:
        c.stop()
    mixed = Cluster(zookeeper, str(tmp_path / "mixed"), [KIND] * 2, props=PROPS,
                    broker_props=lambda i: {"broker.rack": "r1"} if i == 0 else {}).start()
    try:
        admin = AdminClient({"bootstrap.servers": mixed.bootstrap})
        topic = unique("no-racks")
        fut = admin.create_topics([NewTopic(topic, 1, 2)])[topic]
        try:
            fut.result(30)
            raise AssertionError("created without rack information on every broker")
        except Exception as e:  # noqa: BLE001 - KafkaException carries the broker's error
            err = e.args[0]
            assert err.code() == KafkaError.UNKNOWN, err      # Kafka sends no message
        for kind, cmd in tools.items():
            r = zk_create(cmd, mixed, unique("zk-mixed"))
            assert r.returncode == 1 and r.stdout.startswith(
                "Error while executing topic command : Not all brokers have rack information. Add "
                "--disable-rack-aware in command line to make replica assignment without rack "
                "information.\n"), (kind, r.stdout + r.stderr)
            name = unique("zk-unaware")
            r = zk_create(cmd, mixed, name, "--disable-rack-aware")
            assert r.returncode == 0 and r.stdout == f"Created topic {name}.\n", \
                (kind, r.stdout + r.stderr)
    finally:
        mixed.stop()


def json_assignment(c, topic):
    import json
    return json.loads(c._get(f"{c.chroot}/brokers/topics/{topic}"))["partitions"]


def set_config(port, rtype, name, key, value):
    """IncrementalAlterConfigs SET (rtype 2: a topic, 4: a broker, name ""
    for the cluster default)."""
    from kproto import Conn, incremental_alter_configs_v0
    conn = Conn(port)
    try:
        assert incremental_alter_configs_v0(conn, [(rtype, name, [(key, 0, value)])]) == [(0, None)]
    finally:
        conn.close()


def test_enabling_unclean_election_elects_offline_partitions_at_once(zookeeper, tmp_path):
    """An offline partition whose only live replica is out of the ISR gets
    it as leader as soon as unclean.leader.election.enable is turned on --
    for its topic, or for the cluster (the dynamic broker default) -- as
    Kafka's controller does on those config changes."""
    c = make_cluster(zookeeper, tmp_path)
    try:
        ctl = c.controller()
        a, b = [i for i in range(3) if i != ctl]
        by_topic, by_default = unique("uncleant"), unique("uncleand")
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        for t in (by_topic, by_default):
            admin.create_topics([NewTopic(t, 1, replica_assignment=[[a, b]])])[t].result(30)
            wait_for(lambda: isr(c, t, 0) == sorted([a, b]), 30, "a full ISR")
            p = Producer({"bootstrap.servers": c.bootstrap, "acks": "all"})
            p.produce(t, b"v")
            assert p.flush(30) == 0
        c.kill9(b)
        wait_for(lambda: all(isr(c, t, 0) == [a] for t in (by_topic, by_default)), 30,
                 "the ISR without the dead follower")
        c.kill9(a)
        wait_for(lambda: all(c.leader(t, 0) == -1 for t in (by_topic, by_default)), 30,
                 "both partitions offline")
        c.restart(b)
        time.sleep(3)
        assert [c.leader(t, 0) for t in (by_topic, by_default)] == [-1, -1]
        port = c.broker(ctl).port
        set_config(port, 2, by_topic, "unclean.leader.election.enable", "true")
        wait_for(lambda: c.leader(by_topic, 0) == b, 30, "the topic's unclean election")
        assert isr(c, by_topic, 0) == [b]
        time.sleep(2)
        assert c.leader(by_default, 0) == -1
        set_config(port, 4, "", "unclean.leader.election.enable", "true")
        wait_for(lambda: c.leader(by_default, 0) == b, 30, "the cluster default's unclean election")
    finally:
        c.stop()
