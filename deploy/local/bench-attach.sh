#!/usr/bin/env bash
# Attach benchmark on the lab (deploy/local/bench.sh attach): 4 nodes, two phases in one run:
#   (a) steady arrivals (default 50 pods/s for 10 s): p50 / p99 from bound to network-status;
#   (b) a burst (default 500 pods created at once): time until the last has its network-status, pods/s;
# before them a warm-up (default 100 pods, not counted); after them each service's peak RSS (VmHWM). Last line: one JSON object.
# Options: --rate N --seconds N --burst N --warmup N.
# Uses a running lab if there is one (its node count and primary CNI), else brings one up with 4 nodes and
# removes it after. That lab's chain is the netattach shim alone (PRIMARY_CNI=none): the figures are netattach's,
# not the reference bridge plugin's (82 ms wall, 56 ms CPU per ADD here; PRIMARY_CNI=bridge to include it).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
find_jdk25
LAB="$NETATTACH_STATE/lab"
LABSH="$NETATTACH_ROOT/deploy/local/lab.sh"
if [ ! -f "$LAB/nodes" ]; then
  "$LABSH" up --nodes 4 --primary-cni "${PRIMARY_CNI:-none}"
  trap '"$LABSH" down' EXIT
fi
eval "$("$LABSH" env)"; export KUBECONFIG KUBECACHEDIR
nodes=$(seq -s, -f 'node%g' 1 "$(cat "$LAB/nodes")")
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: bench-net
  namespace: default
spec:
  config: '{"cniVersion": "0.3.1", "type": "macvlan", "master": "eth1", "mode": "bridge",
            "ipam": {"type": "whereabouts", "range": "10.50.0.0/16"}}'
YAML
primary=$(cat "$LAB/primary-cni" 2>/dev/null || echo bridge)
say "attach benchmark on nodes $nodes (primary CNI: $primary)"
out=$(java -jar "$NETATTACH_ROOT/deploy/local/lab/target/netattach-lab.jar" bench-attach --api "http://127.0.0.1:${LAB_API_PORT:-6443}" \
  --nodes "$nodes" "$@" 2> "$LAB/bench-attach.err")
echo "$out" | grep -v '^{'
rss="{"
sep=""
for f in "$LAB"/*.pid; do
  name=$(basename "$f" .pid)
  pid=$(cat "$f")
  kb=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  printf 'peak RSS %-15s %6d MiB\n' "$name" $((kb / 1024))
  rss="$rss$sep\"$name\":$((kb / 1024))"
  sep=","
done
rss="$rss}"
json=$(echo "$out" | grep '^{')
echo "${json%\}},\"peak_rss_mib\":$rss,\"nodes\":$(cat "$LAB/nodes"),\"primary_cni\":\"$primary\"}"
