#!/bin/bash
# Starts a local ZooKeeper and one samsa broker on loopback under
# .local-cluster/, creates a topic and round-trips messages with the console
# tools.  Keeps running until Ctrl-C (or exits after the demo with
# --demo-only), then stops what it started.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=$ROOT/.local-cluster
ZK_PORT=${ZK_PORT:-2181}
BROKER_PORT=${BROKER_PORT:-9092}
mkdir -p "$DIR/zk" "$DIR/logs"
cat > "$DIR/zoo.cfg" <<CFG
tickTime=2000
dataDir=$DIR/zk
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok
CFG
sed -e "s|^listeners=.*|listeners=PLAINTEXT://127.0.0.1:$BROKER_PORT|" \
    -e "s|^log.dirs=.*|log.dirs=$DIR/logs|" \
    -e "s|^zookeeper.connect=.*|zookeeper.connect=127.0.0.1:$ZK_PORT/samsa|" \
    etc/server.properties > "$DIR/server.properties"

ZK_PID= ; BROKER_PID=
cleanup() {
    rc=$?
    if [ -n "$BROKER_PID" ]; then kill "$BROKER_PID" 2>/dev/null; wait "$BROKER_PID" 2>/dev/null || true; fi
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

: > "$DIR/samsad.log"
build/samsad --log-file "$DIR/samsad.log" "$DIR/server.properties" &
BROKER_PID=$!
for i in $(seq 1 120); do
    grep -q "started" "$DIR/samsad.log" 2>/dev/null && break
    kill -0 "$BROKER_PID" 2>/dev/null || { cat "$DIR/samsad.log"; exit 1; }
    sleep 0.25
done
echo "samsad broker 0 listening on 127.0.0.1:$BROKER_PORT (log: $DIR/samsad.log)"

B=127.0.0.1:$BROKER_PORT
build/samsa-topics --bootstrap-server "$B" --create --topic demo --partitions 3 --if-not-exists
build/samsa-topics --bootstrap-server "$B" --describe --topic demo
printf 'alice:hello\nbob:from\ncarol:samsa\n' |
    build/samsa-console-producer --bootstrap-server "$B" --topic demo \
        --property parse.key=true --property key.separator=:
build/samsa-console-consumer --bootstrap-server "$B" --topic demo --from-beginning \
    --max-messages 3 --property print.key=true --property print.partition=true

if [ "${1:-}" = "--demo-only" ]; then
    exit 0
fi
echo "Cluster running; press Ctrl-C to stop it."
wait "$BROKER_PID"
