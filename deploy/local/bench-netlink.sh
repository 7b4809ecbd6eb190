#!/usr/bin/env bash
# Benchmark of node-worker's netlink path against an exec of the reference CNI macvlan plugin, plus
# node-worker's RSS idle and under a burst of concurrent sandboxes. Prints figures; last line is one JSON
# object. Needs root, iproute2 (only to build the na-* lab namespaces), /usr/lib/cni (containernetworking-
# plugins), Kafka from deploy/local/services.sh. Usage: deploy/local/bench-netlink.sh [cycles] [burst] [warmup]
# (warmup: JIT warm-up cycles, the same number for node-worker's path and the kernel-floor loop; default 500).
set -euo pipefail
cd "$(dirname "$0")/../.."
CYCLES=${1:-200}
BURST=${2:-200}
WARMUP=${3:-500}
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA=$JAVA_HOME/bin/java
BOOTSTRAP=${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}
# JVM options of the measured node-worker (docs/node-worker.md "Benchmark"): a node agent with a small heap;
# set NODE_WORKER_JVM_OPTS="" to measure the JVM's defaults.
read -r -a NW_OPTS <<<"${NODE_WORKER_JVM_OPTS--XX:+UseSerialGC -Xmx128m -XX:+ExitOnOutOfMemoryError}"

flock /tmp/netattach-mvn.lock ./mvnw -B -ntp -o -q -pl node-worker package -DskipTests >&2
LAB_JAR=deploy/local/lab/target/netattach-lab.jar
[ -f "$LAB_JAR" ] || flock /tmp/netattach-mvn.lock ./mvnw -B -ntp -o -q -f deploy/local/lab/pom.xml package -DskipTests >&2
NW=node-worker/target
CP="$NW/classes:$NW/test-classes:$NW/quarkus-app/lib/boot/*:$NW/quarkus-app/lib/main/*"

TAG=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
NODE_NS=na-bench-$TAG
SOCK=/tmp/netattach-bench-$TAG.sock
STATE=/tmp/netattach-bench-$TAG.json
SUFFIX=.bench$TAG
LOG=/tmp/netattach-bench-$TAG.log
PID=
API_PID=
API_PORT=$((20000 + 0x${TAG:0:3} % 10000))
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  # the stand-in keeps no state: SIGKILL (it does not stop on SIGTERM while its watches are open)
  [ -n "$API_PID" ] && kill -9 "$API_PID" 2>/dev/null && wait "$API_PID" 2>/dev/null || true
  rm -f "/tmp/netattach-bench-$TAG.kubeconfig"
  ip netns del "$NODE_NS" 2>/dev/null || true
  rm -f "$SOCK" "$STATE"
}
trap cleanup EXIT

# The running service needs a node namespace with an uplink that has the default route.
ip netns add "$NODE_NS"
ip -n "$NODE_NS" link set lo up
ip -n "$NODE_NS" link add eth1 type veth peer name eth2
ip -n "$NODE_NS" link set eth1 up
ip -n "$NODE_NS" link set eth2 up
ip -n "$NODE_NS" addr add 192.168.98.1/24 dev eth1
ip -n "$NODE_NS" route add default via 192.168.98.254

deploy/local/services.sh topics "$SUFFIX"

# node-worker reads the pod of each sandbox from an API server: the lab's stand-in.
"$JAVA" -jar "$LAB_JAR" api-server --port "$API_PORT" --kubeconfig "/tmp/netattach-bench-$TAG.kubeconfig" >"$LOG.api" 2>&1 &
API_PID=$!
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$API_PORT/version" >/dev/null 2>&1 && break
  sleep 0.1
done

KUBECONFIG=/tmp/netattach-bench-$TAG.kubeconfig "$JAVA" --enable-native-access=ALL-UNNAMED "${NW_OPTS[@]}" \
  -Dnetattach.node.name=bench-$TAG -Dnetattach.node.host-netns=/var/run/netns/$NODE_NS \
  -Dnetattach.node.socket=$SOCK -Dnetattach.node.state-file=$STATE -Dquarkus.kubernetes-client.api-server-url=http://127.0.0.1:$API_PORT \
  -Dnetattach.kafka.topic-suffix=$SUFFIX -Dquarkus.http.port=0 -Dkafka.bootstrap.servers=$BOOTSTRAP \
  -jar $NW/quarkus-app/quarkus-run.jar >"$LOG" 2>&1 &
PID=$!
for _ in $(seq 1 300); do
  grep -q "node-worker bench-$TAG serving the CNI shim" "$LOG" && break
  kill -0 "$PID" 2>/dev/null || { cat "$LOG" >&2; exit 1; }
  sleep 0.1
done
grep -q "serving the CNI shim" "$LOG" || { echo "node-worker did not start" >&2; tail -20 "$LOG" >&2; exit 1; }

"$JAVA" --enable-native-access=ALL-UNNAMED -cp "$CP" io.netattach.node.bench.NetlinkBench \
  --cycles "$CYCLES" --warmup "$WARMUP" --plugin-dir /usr/lib/cni \
  --service-pid "$PID" --burst "$BURST" --node "bench-$TAG" --socket "$SOCK" \
  --bootstrap "$BOOTSTRAP" --topic "netattach.node.commands$SUFFIX" --api "http://127.0.0.1:$API_PORT"
