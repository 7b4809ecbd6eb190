#!/usr/bin/env bash
# The local lab: a small Kubernetes-shaped world on one machine, for the demo and the end-to-end tests.
# Test infrastructure, not product. What it runs:
#   - PostgreSQL and the Kafka broker (services.sh);
#   - a stand-in Kubernetes API server (fabric8 mock, CRUD mode) on 127.0.0.1:$LAB_API_PORT, with kubectl
#     discovery; `lab.sh env` prints KUBECONFIG for it;
#   - N nodes as network namespaces na-lab-node<i>, each with uplinks eth0, eth1, eth2 veth'd into a
#     fabric namespace na-lab-fabric holding bridges br0, br1, br2 (shared L2 segments across nodes);
#   - the central services (ipam, policy, attach) and one node-worker per node, in its node's namespace;
#   - stand-ins for the control plane and kubelets (scheduler, Deployment/StatefulSet controllers, a kubelet
#     per node that creates pod namespaces na-p-<uid> and runs the node's CNI chain: bridge as the primary
#     CNI, then the netattach CNI shim, exactly as a container runtime would).
#   - a stand-in OpenTelemetry collector (OTLP/HTTP on 127.0.0.1:$LAB_OTLP_PORT) writing the spans to spans.jsonl;
#   - with --member <id>: a member cluster beside it (its own API server, attach-service, node "<id>1"), sharing
#     Kafka, ipam-service and policy-service, for the multi-cluster scenarios.
# Usage: deploy/local/lab.sh up [--nodes N] [--primary-cni bridge|none] [--member CLUSTER_ID] | down | status | env | exec <namespace>/<pod> -- <command...>
#        deploy/local/lab.sh audit [--from-beginning] [--max-messages N]   (tails the netattach.audit topic)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

LAB="$NETATTACH_STATE/lab"
LAB_API_PORT=${LAB_API_PORT:-6443}
LAB_OTLP_PORT=${LAB_OTLP_PORT:-4318}
KUBECONFIG_FILE="$LAB/kubeconfig"
LAB_JAR="$NETATTACH_ROOT/deploy/local/lab/target/netattach-lab.jar"
# The services' builds the lab runs: this checkout's, or another's (NETATTACH_APPS=<checkout>, for an A/B benchmark).
APPS="${NETATTACH_APPS:-$NETATTACH_ROOT}"
mkdir -p "$LAB"

lab_env() {
  echo "export KUBECONFIG=$KUBECONFIG_FILE"
  echo "export KUBECACHEDIR=$LAB/kube-cache"
}

start_bg() { # name, log, command...
  local name=$1 log=$2; shift 2
  nohup setsid "$@" >"$log" 2>&1 </dev/null &
  echo $! > "$LAB/$name.pid"
}

wait_http() { # url, seconds
  local i
  for ((i = 0; i < $2 * 4; i++)); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.25; done
  return 1
}

fabric_up() {
  local nodes=$1 i j
  ip netns add na-lab-fabric
  ip -n na-lab-fabric link set lo up
  for j in 0 1 2; do
    ip -n na-lab-fabric link add "br$j" type bridge
    ip -n na-lab-fabric link set "br$j" up
  done
  for ((i = 1; i <= nodes; i++)); do fabric_node "node$i" "$i"; done
}

fabric_node() { # name, index (1..99): namespace na-lab-<name>, uplinks eth0..eth2 on the fabric's bridges
  local name=$1 i=$2 j
  ip netns add "na-lab-$name"
  ip -n "na-lab-$name" link set lo up
  for j in 0 1 2; do
    # MTU 9000 on the uplinks: the seed's storage-network asks for jumbo frames on eth1.
    ip link add "nal$i-e$j" mtu 9000 type veth peer name "nal$i-f$j" mtu 9000
    ip link set "nal$i-e$j" netns "na-lab-$name"
    ip -n "na-lab-$name" link set "nal$i-e$j" name "eth$j"
    ip link set "nal$i-f$j" netns na-lab-fabric
    ip -n na-lab-fabric link set "nal$i-f$j" master "br$j" up
    ip -n "na-lab-$name" link set "eth$j" up
  done
  # A node address on eth0 and a default route through it, so "the default-route interface" exists.
  ip -n "na-lab-$name" addr add "10.99.0.$((10 + i))/24" dev eth0
  ip -n "na-lab-$name" route add default via 10.99.0.1
}

# The node's CNI chain: the cluster network (eth0 from the reference bridge plugin), then the netattach shim.
# --primary-cni none leaves only the shim (pods get no eth0): the attach benchmark uses it to measure netattach,
# not the primary plugin (docs/benchmarks.md, "Attach").
write_conflist() { # node, index, primary
  local primary_plugin=""
  [ "$3" = bridge ] && primary_plugin="
  {\"type\": \"bridge\", \"bridge\": \"cni0\", \"isGateway\": true, \"ipam\": {\"type\": \"host-local\", \"subnet\": \"10.244.$2.0/24\", \"dataDir\": \"$LAB/cni/ipam-$1\"}},"
  cat > "$LAB/cni/$1.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "lab-pod-network", "plugins": [$primary_plugin
  {"type": "netattach-shim", "socketPath": "$LAB/$1.sock"}
]}
JSON
}

start_node_worker() { # node, http port, then the environment (env NAME=value ...)
  local node=$1 port=$2; shift 2
  say "node-worker for $node on :$port (host netns na-lab-$node)"
  start_bg "$node" "$LAB/$node.log" "$@" NODE_NAME="$node" NETATTACH_HTTP_PORT="$port" \
    NETATTACH_NODE_HOST_NETNS="/var/run/netns/na-lab-$node" NETATTACH_NODE_SOCKET="$LAB/$node.sock" \
    NETATTACH_CNI_PLUGIN_DIR=/usr/lib/cni NETATTACH_NODE_STATE_FILE="$LAB/$node-sandboxes.json" \
    java --enable-native-access=ALL-UNNAMED -jar "$APPS/node-worker/target/quarkus-app/quarkus-run.jar"
}

api_server() { # name, port, kubeconfig
  local crds=() f
  for f in "$NETATTACH_ROOT"/deploy/kubernetes/base/crds/*.yaml; do
    [ -f "$f" ] && [ "$(basename "$f")" != kustomization.yaml ] && crds+=(--apply "$f")
  done
  start_bg "$1" "$LAB/$1.log" java -jar "$LAB_JAR" api-server --port "$2" --kubeconfig "$3" "${crds[@]}"
  wait_http "http://127.0.0.1:$2/version" 60 || die "the lab API server $1 did not start (log: $LAB/$1.log)"
}

# The kubelets exec a CNI plugin per ADD and DEL. The JDK's default launch (posix_spawn of jspawnhelper, which then
# execs the plugin) cost ~10 ms of CPU per exec here, vfork ~4 ms; a container runtime (Go) forks with CLONE_VFORK too.
start_cluster() { # name, api port, nodes (a,b)
  start_bg "$1" "$LAB/$1.log" java -Djdk.lang.Process.launchMechanism=VFORK --enable-native-access=ALL-UNNAMED -jar "$LAB_JAR" cluster \
    --api "http://127.0.0.1:$2" --nodes "$3" --cni-conf-dir "$LAB/cni" --cni-path "/usr/lib/cni:$LAB/cni-bin"
}

up() {
  local nodes=2 primary=bridge member=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) nodes=$2; shift 2 ;;
      --primary-cni) primary=$2; shift 2 ;;
      --member) member=$2; shift 2 ;;
      *) die "unknown option \"$1\" for up (--nodes N, --primary-cni bridge|none, --member CLUSTER_ID)" ;;
    esac
  done
  [[ "$nodes" =~ ^[1-9][0-9]?$ ]] && [ "$nodes" -le 98 ] || die "--nodes must be a number from 1 to 98, got \"$nodes\""
  [ -z "$member" ] || [[ "$member" =~ ^[a-z][a-z0-9-]{0,20}$ ]] || die "--member must be a cluster id ([a-z][a-z0-9-]*), got \"$member\""
  case "$primary" in bridge | none) ;; *) die "--primary-cni must be bridge or none, got \"$primary\"" ;; esac
  [ -f "$LAB/nodes" ] && die "the lab is already up ($(cat "$LAB/nodes") nodes); run lab.sh down first"
  find_jdk25
  ensure_packages
  "$NETATTACH_ROOT/deploy/local/services.sh" start
  if [ ! -f "$LAB_JAR" ] || [ ! -x "$NETATTACH_ROOT/node-worker/target/netattach-shim" ] \
    || [ "$(ls "$NETATTACH_ROOT"/*/target/quarkus-app/quarkus-run.jar 2>/dev/null | wc -l)" -lt 4 ]; then
    say "building the services and the lab"
    (cd "$NETATTACH_ROOT" && "$MVNW" -B -q -ntp -DskipTests package && "$MVNW" -B -q -ntp -f deploy/local/lab/pom.xml -DskipTests package)
  fi
  echo "$nodes" > "$LAB/nodes"
  echo "$primary" > "$LAB/primary-cni"

  say "network: fabric namespace with bridges br0..br2, $nodes node namespaces with eth0..eth2"
  fabric_up "$nodes"

  say "stand-in Kubernetes API server on 127.0.0.1:$LAB_API_PORT (fabric8 mock, CRUD mode)"
  api_server api "$LAB_API_PORT" "$KUBECONFIG_FILE"

  # A new lab is a new cluster: its own Kafka topics (a per-run suffix: no record of an earlier run is ever
  # replayed into it) and its IPAM from an empty database of its own (netattach_lab).
  export NETATTACH_KAFKA_TOPIC_SUFFIX=".lab$(date +%s)"
  echo "$NETATTACH_KAFKA_TOPIC_SUFFIX" > "$LAB/topic-suffix"
  "$NETATTACH_ROOT/deploy/local/services.sh" topics "$NETATTACH_KAFKA_TOPIC_SUFFIX"
  psql -h 127.0.0.1 -U postgres -d postgres -qtA -v ON_ERROR_STOP=1 \
    -c "drop database if exists netattach_lab with (force)" -c "create database netattach_lab owner netattach_ipam" >/dev/null
  # Traces: every service exports to the lab's stand-in collector, which writes each span to $LAB/spans.jsonl;
  # sampled only with NETATTACH_TRACING_RATIO > 0 (test.sh: 1; the benchmarks: the product's default 0).
  rm -f "$LAB/spans.jsonl"
  start_bg otlp-sink "$LAB/otlp-sink.log" java -jar "$LAB_JAR" otlp-sink --port "$LAB_OTLP_PORT" --out "$LAB/spans.jsonl"
  export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$LAB_OTLP_PORT" QUARKUS_OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf
  export NETATTACH_TRACING_RATIO="${NETATTACH_TRACING_RATIO:-0}"
  echo "$NETATTACH_TRACING_RATIO" > "$LAB/tracing-ratio"
  local kube=(env "QUARKUS_KUBERNETES_CLIENT_API_SERVER_URL=http://127.0.0.1:$LAB_API_PORT" "KUBECONFIG=$KUBECONFIG_FILE")
  say "central services: ipam-service :8081, policy-service :8083, attach-service :8082"
  start_bg ipam-service "$LAB/ipam-service.log" env \
    NETATTACH_DB_PASSWORD=netattach NETATTACH_DB_REACTIVE_URL=postgresql://127.0.0.1:5432/netattach_lab NETATTACH_DB_JDBC_URL=jdbc:postgresql://127.0.0.1:5432/netattach_lab java -jar "$APPS/ipam-service/target/quarkus-app/quarkus-run.jar"
  start_bg policy-service "$LAB/policy-service.log" "${kube[@]}" \
    NETATTACH_POLICY_RBAC_EVALUATOR=local java -jar "$APPS/policy-service/target/quarkus-app/quarkus-run.jar"
  # This kernel has no ipvlan / vlan: the lab attaches a pod's other networks and leaves those out with a
  # Warning Event (InterfaceSkipped) rather than failing the pod (the product's default is to fail it, as Multus).
  # The IPAM leak sweep every 10 s instead of 5 min, so the end-to-end test sees a reclaim.
  start_bg attach-service "$LAB/attach-service.log" "${kube[@]}" NETATTACH_ATTACH_SKIP_UNSUPPORTED_KINDS=true \
    NETATTACH_ATTACH_IPAM_RECONCILE_INTERVAL=10s NETATTACH_ATTACH_IPAM_RECONCILE_DELAY=10s \
    java -jar "$APPS/attach-service/target/quarkus-app/quarkus-run.jar"

  # The CNI shim, installed as a node would have it: the executable in a CNI bin dir.
  local i shimdir="$LAB/cni-bin"
  mkdir -p "$LAB/cni" "$shimdir"
  install -m 0755 "$NETATTACH_ROOT/node-worker/target/netattach-shim" "$shimdir/netattach-shim"
  for ((i = 1; i <= nodes; i++)); do
    start_node_worker "node$i" $((8090 + i)) "${kube[@]}"
    write_conflist "node$i" "$i" "$primary"
  done
  for svc in ipam-service:8081 policy-service:8083 attach-service:8082; do
    wait_http "http://127.0.0.1:${svc#*:}/q/health/ready" 90 || die "${svc%%:*} is not ready (log: $LAB/${svc%%:*}.log)"
  done
  for ((i = 1; i <= nodes; i++)); do
    wait_http "http://127.0.0.1:$((8090 + i))/q/health/ready" 90 || die "node-worker node$i is not ready (log: $LAB/node$i.log)"
  done

  say "control-plane and kubelet stand-ins"
  start_cluster cluster "$LAB_API_PORT" "$(seq -s, -f 'node%g' 1 "$nodes")"
  [ -z "$member" ] || member_up "$member" "$primary"
  say "lab is up. $(lab_env | tr '\n' ' ')"
}

# A member cluster beside the lab's (the hub's): its own API server, attach-service (cluster id = its name) and one
# node "<name>1" on the same fabric, sharing the hub's Kafka, ipam-service and policy-service, as
# overlays/multi-cluster-member deploys it. Node names differ from the hub's (docs/operations.md, "Several clusters").
member_up() { # cluster id, primary
  local id=$1 port=$((LAB_API_PORT + 1)) node="${1}1"
  local kubeconfig="$LAB/kubeconfig-$id"
  say "member cluster $id: API server on 127.0.0.1:$port, attach-service :8084, node $node"
  api_server "api-$id" "$port" "$kubeconfig"
  echo "$id" > "$LAB/member"
  fabric_node "$node" 99
  local kube=(env "QUARKUS_KUBERNETES_CLIENT_API_SERVER_URL=http://127.0.0.1:$port" "KUBECONFIG=$kubeconfig" "NETATTACH_CLUSTER_ID=$id")
  start_bg "attach-service-$id" "$LAB/attach-service-$id.log" "${kube[@]}" NETATTACH_HTTP_PORT=8084 \
    NETATTACH_ATTACH_SKIP_UNSUPPORTED_KINDS=true java -jar "$APPS/attach-service/target/quarkus-app/quarkus-run.jar"
  start_node_worker "$node" 8099 "${kube[@]}"
  write_conflist "$node" 99 "$2"
  wait_http "http://127.0.0.1:8084/q/health/ready" 90 || die "attach-service-$id is not ready (log: $LAB/attach-service-$id.log)"
  wait_http "http://127.0.0.1:8099/q/health/ready" 90 || die "node-worker $node is not ready (log: $LAB/$node.log)"
  start_cluster "cluster-$id" "$port" "$node"
}

down() {
  local f
  for f in "$LAB"/*.pid; do [ -e "$f" ] && stop_pid "$f" 20; done
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^na-(lab|p)-' || true); do
    ip netns delete "$ns" 2>/dev/null || true
  done
  [ -f "$LAB/topic-suffix" ] && "$NETATTACH_ROOT/deploy/local/services.sh" delete-topics "$(cat "$LAB/topic-suffix")"
  rm -rf "$LAB/topic-suffix" "$LAB/nodes" "$LAB/primary-cni" "$LAB/cni" "$LAB/cni-bin" "$LAB"/*.sock "$LAB"/*-sandboxes.json "$LAB"/kubeconfig* "$LAB/member"
  say "lab is down (PostgreSQL and Kafka keep running: deploy/local/services.sh stop)"
}

status() {
  "$NETATTACH_ROOT/deploy/local/services.sh" status
  local f
  for f in "$LAB"/*.pid; do
    [ -e "$f" ] || continue
    if pid_alive "$f"; then echo "$(basename "$f" .pid): running (pid $(cat "$f"), log $LAB/$(basename "$f" .pid).log)"
    else echo "$(basename "$f" .pid): stopped"; fi
  done
  ip netns list 2>/dev/null | grep -E '^na-(lab|p)-' || true
}

exec_in_pod() {
  local ref=$1; shift
  [ "${1:-}" = "--" ] && shift
  [[ "$ref" =~ ^[a-z0-9.-]+/[a-z0-9.-]+$ ]] || die "expected <namespace>/<pod>, got \"$ref\""
  local uid hex
  uid=$(KUBECONFIG=$KUBECONFIG_FILE KUBECACHEDIR=$LAB/kube-cache kubectl get pod -n "${ref%%/*}" "${ref#*/}" -o jsonpath='{.metadata.uid}')
  hex=${uid//-/}
  exec ip netns exec "na-p-${hex: -16}" "$@"
}

# Tails the audit topic (every attach, detach, denial, allocation, release, failure), one CloudEvent per line.
audit() {
  find_jdk25
  exec java -cp "$NETATTACH_CACHE/kafka-$KAFKA_VERSION/libs/*" -Dlog4j2.level=WARN \
    org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}" \
    --topic "netattach.audit$(cat "$LAB/topic-suffix" 2>/dev/null)" "$@"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  audit) shift; audit "$@" ;;
  down) down ;;
  status) status ;;
  env) lab_env ;;
  exec) shift; exec_in_pod "$@" ;;
  *) echo "usage: $0 up [--nodes N] [--primary-cni bridge|none] [--member CLUSTER_ID] | down | status | env | exec <namespace>/<pod> -- <command...> | audit [kafka consumer options]" >&2; exit 2 ;;
esac
