#!/bin/bash
# Starts a local ZooKeeper and three samsa brokers (ids 0-2, ports 9092-9094)
# on loopback under .local-cluster/, creates a topic with replication factor
# 3 and round-trips messages with the console tools (acks=all).  Keeps
# running until Ctrl-C (or exits after the demo with --demo-only), then
# stops what it started.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=$ROOT/.local-cluster
ZK_PORT=${ZK_PORT:-2181}
BROKER_PORT=${BROKER_PORT:-9092}
mkdir -p "$DIR/zk"
cat > "$DIR/zoo.cfg" <<CFG
tickTime=2000
dataDir=$DIR/zk
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok
CFG
BROKERS=3
for id in $(seq 0 $((BROKERS - 1))); do
    mkdir -p "$DIR/logs-$id"
    sed -e "s|^broker.id=.*|broker.id=$id|" \
        -e "s|^listeners=.*|listeners=PLAINTEXT://127.0.0.1:$((BROKER_PORT + id))|" \
        -e "s|^log.dirs=.*|log.dirs=$DIR/logs-$id|" \
        -e "s|^zookeeper.connect=.*|zookeeper.connect=127.0.0.1:$ZK_PORT/samsa|" \
        -e "s|^offsets.topic.replication.factor=.*|offsets.topic.replication.factor=3|" \
        -e "s|^transaction.state.log.replication.factor=.*|transaction.state.log.replication.factor=3|" \
        -e "s|^transaction.state.log.min.isr=.*|transaction.state.log.min.isr=2|" \
        etc/server.properties > "$DIR/server-$id.properties"
done

ZK_PID= ; BROKER_PIDS=
cleanup() {
    rc=$?
    for pid in $BROKER_PIDS; do kill "$pid" 2>/dev/null; done
    for pid in $BROKER_PIDS; do wait "$pid" 2>/dev/null || true; done
    if [ -n "$ZK_PID" ]; then kill "$ZK_PID" 2>/dev/null; wait "$ZK_PID" 2>/dev/null || true; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

java -Xmx256m -cp "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/*" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$DIR/zoo.cfg" > "$DIR/zookeeper.log" 2>&1 &
ZK_PID=$!
for i in $(seq 1 120); do
    if [ "$(exec 3<>/dev/tcp/127.0.0.1/$ZK_PORT 2>/dev/null && printf ruok >&3 && head -c4 <&3)" = imok ]; then break; fi
    sleep 0.5
done 2>/dev/null
echo "ZooKeeper listening on 127.0.0.1:$ZK_PORT"

for id in $(seq 0 $((BROKERS - 1))); do
    : > "$DIR/samsad-$id.log"
    build/samsad --log-file "$DIR/samsad-$id.log" "$DIR/server-$id.properties" &
    pid=$!
    BROKER_PIDS="$BROKER_PIDS $pid"
    for i in $(seq 1 120); do
        grep -q "started" "$DIR/samsad-$id.log" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || { cat "$DIR/samsad-$id.log"; exit 1; }
        sleep 0.25
    done
    echo "samsad broker $id listening on 127.0.0.1:$((BROKER_PORT + id)) (log: $DIR/samsad-$id.log)"
done

B=127.0.0.1:$BROKER_PORT,127.0.0.1:$((BROKER_PORT + 1)),127.0.0.1:$((BROKER_PORT + 2))
build/samsa-topics --bootstrap-server "$B" --create --topic demo --partitions 3 \
    --replication-factor 3 --config min.insync.replicas=2 --if-not-exists
sleep 1
build/samsa-topics --bootstrap-server "$B" --describe --topic demo
printf 'alice:hello\nbob:from\ncarol:samsa\n' |
    build/samsa-console-producer --bootstrap-server "$B" --topic demo --request-required-acks -1 \
        --property parse.key=true --property key.separator=:
build/samsa-console-consumer --bootstrap-server "$B" --topic demo --from-beginning \
    --max-messages 3 --property print.key=true --property print.partition=true

if [ "${1:-}" = "--demo-only" ]; then
    exit 0
fi
echo "Cluster running; press Ctrl-C to stop it."
wait
