#!/usr/bin/env bash
# The README's main job: the seed document's scenarios, live on this machine.
# Brings the lab up (PostgreSQL, Kafka, a stand-in Kubernetes API, 2 simulated nodes, the four services),
# applies every YAML of the seed (deploy/examples/), waits, shows for each pod its network-status and the
# interfaces inside it, pings between two macvlan pods on different nodes, and says where to look next.
# --keep leaves the lab running (deploy/local/lab.sh down removes it); without it the lab is removed at the end.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
find_jdk25
command -v kubectl >/dev/null || die "kubectl not found: the demo drives the lab with it (this machine kind ships it as the 'kubectl' package)"
keep=false
[ "${1:-}" = "--keep" ] && keep=true
LABSH="$NETATTACH_ROOT/deploy/local/lab.sh"

if [ -f "$NETATTACH_STATE/lab/nodes" ]; then
  say "a lab is already up: using it"
else
  if ! $keep; then trap '"$LABSH" down' EXIT; fi
  say "bringing the lab up (first run builds everything: a few minutes)"
  "$LABSH" up --nodes 2
fi
eval "$("$LABSH" env)"
export KUBECONFIG KUBECACHEDIR

# As a user of a new cluster does first: create the namespaces the YAMLs name (kubectl create namespace).
say "creating the namespaces the seed's YAMLs name"
for ns in $(sed -n 's/^ *namespace: *\([a-z0-9-]*\) *$/\1/p' "$NETATTACH_ROOT"/deploy/examples/*.yaml | sort -u); do
  kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns" | sed 's/^/    /'
done

say "applying the seed's YAMLs (deploy/examples/)"
for f in "$NETATTACH_ROOT"/deploy/examples/*.yaml; do
  echo "--- $(basename "$f")"
  kubectl apply -f "$f" | sed 's/^/    /'
done

pods() { kubectl get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}' | sort; }
status_of() { kubectl get pod -n "${1%%/*}" "${1#*/}" -o jsonpath='{.metadata.annotations.k8s\.v1\.cni\.cncf\.io/network-status}'; }
last_warning() {
  kubectl get events -n "${1%%/*}" -o json 2>/dev/null | POD="${1#*/}" python3 -c '
import json, os, sys
events = [e for e in json.load(sys.stdin)["items"]
          if e.get("type") == "Warning" and e["involvedObject"].get("name") == os.environ["POD"]]
if events:
    e = events[-1]
    print(e["reason"] + ": " + e["message"][:400])'
}

say "waiting for netattach (up to 90 s): network-status, or a Warning event that says why not"
deadline=$((SECONDS + 90))
while :; do
  pending=0
  for p in $(pods); do
    [ -n "$(status_of "$p")" ] || [ -n "$(last_warning "$p")" ] || pending=$((pending + 1))
  done
  [ $pending -eq 0 ] && break
  [ $SECONDS -ge $deadline ] && { echo "    $pending pod(s) still without status"; break; }
  sleep 1
done

for p in $(pods); do
  echo
  say "$p  (node $(kubectl get pod -n "${p%%/*}" "${p#*/}" -o jsonpath='{.spec.nodeName}'))"
  s=$(status_of "$p")
  if [ -n "$s" ]; then
    echo "  network-status: $s"
    # networks left out because the node's kernel lacks their kind (this machine: ipvlan), with the reason
    kubectl get pod -n "${p%%/*}" "${p#*/}" -o jsonpath='{.metadata.annotations.netattach\.io/skipped-networks}' | python3 -c '
import json, sys
text = sys.stdin.read().strip()
for k in (json.loads(text) if text and text != "null" else []):
    print("  left out: " + k["interface"] + " (" + k["name"] + "): " + k["reason"])'
  else
    echo "  no network-status: $(last_warning "$p")"
  fi
  echo "  inside the pod (ip -br addr):"
  "$LABSH" exec "$p" -- ip -br addr | sed 's/^/    /'
done

echo
say "ping between two macvlan pods on different nodes (macvlan-conf, master eth0, shared L2 across nodes)"
declare -A by_node=()
for p in $(kubectl get pods -n default -l app=web -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}') multi-net-pod static-ip-pod; do
  node=$(kubectl get pod -n default "$p" -o jsonpath='{.spec.nodeName}' 2>/dev/null || true)
  ip=$(status_of "default/$p" | python3 -c 'import json,sys; d=json.loads(sys.stdin.read() or "[]"); print(next((x["ips"][0] for x in d if x.get("name")=="default/macvlan-conf"), ""))')
  [ -n "$node" ] && [ -n "$ip" ] && [ -z "${by_node[$node]:-}" ] && by_node[$node]="$p $ip"
done
nodes=("${!by_node[@]}")
if [ ${#nodes[@]} -ge 2 ]; then
  read -r from from_ip <<<"${by_node[${nodes[0]}]}"
  read -r to to_ip <<<"${by_node[${nodes[1]}]}"
  echo "  default/$from ($from_ip on ${nodes[0]}) -> default/$to ($to_ip on ${nodes[1]})"
  "$LABSH" exec "default/$from" -- ping -c 3 -W 2 -I net1 "$to_ip" | sed 's/^/    /'
else
  echo "  not enough macvlan pods on distinct nodes to ping"
fi

echo
say "where to look next"
cat <<TXT
  audit trail (every attach, detach, denial, allocation, release, failure):
      deploy/local/lab.sh audit --from-beginning
  IPAM utilization and who holds each address:
      curl -s localhost:8081/api/v1/pools | python3 -m json.tool
  why a pod has (or has not) its networks, without doing anything:
      curl -s -XPOST localhost:8082/api/v1/explain -H 'Content-Type: application/json' \\
           -d "\$(kubectl get pod multi-net-pod -o json)" | python3 -m json.tool
  metrics: curl -s localhost:8082/q/metrics | grep netattach     Swagger UI: http://localhost:8081/q/swagger-ui
  kubectl against the lab: eval "\$(deploy/local/lab.sh env)"; kubectl get pods -A
  a shell in a pod's network namespace: deploy/local/lab.sh exec default/multi-net-pod -- ip route
TXT
if $keep; then
  say "the lab keeps running (--keep); deploy/local/lab.sh down removes everything"
else
  say "removing the lab (run with --keep to explore it)"
fi
