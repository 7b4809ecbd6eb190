#!/usr/bin/env bash
# CNI benchmark (deploy/local/bench.sh cni): what the netattach shim adds to the CNI ADD of a pod that asks for
# no secondary network, over N sandboxes (default 500, after 100 uncounted) made one after another on one lab
# node: the primary plugin's ADD (the chain without netattach) and then the shim's ADD, each timed as a runtime
# sees it (fork/exec to exit). Brings up a lab of its own with 1 node (bridge primary CNI) and removes it after;
# the benchmark is that node's runtime: the lab's scheduler and kubelet stand-ins are stopped, and the pods are
# created bound to node1 (as a scheduler binds them before the kubelet starts their sandbox).
# Options: --count N --warmup N. Last line: one JSON object.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
find_jdk25
LAB="$NETATTACH_STATE/lab"
LABSH="$NETATTACH_ROOT/deploy/local/lab.sh"
[ ! -f "$LAB/nodes" ] || die "a lab is running: bench cni needs one of its own (deploy/local/lab.sh down, then rerun)"
"$LABSH" up --nodes 1 --primary-cni bridge
trap '"$LABSH" down' EXIT
kill "$(cat "$LAB/cluster.pid")"
say "CNI benchmark on node1: primary bridge ADD, then netattach-shim ADD, pods without networks"
# As the lab's kubelets: vfork for each plugin exec (a runtime written in Go forks with CLONE_VFORK too).
java -Djdk.lang.Process.launchMechanism=VFORK --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
  -jar "$NETATTACH_ROOT/deploy/local/lab/target/netattach-lab.jar" bench-cni --api "http://127.0.0.1:${LAB_API_PORT:-6443}" \
  --node node1 --cni-conf-dir "$LAB/cni" --cni-path "/usr/lib/cni:$LAB/cni-bin" "$@"
