#!/usr/bin/env bash
# Attach benchmark on the lab (deploy/local/bench.sh attach): 4 nodes, two phases in one run:
#   (a) steady arrivals (default 50 pods/s for 10 s): p50 / p99 from bound to network-status;
#   (b) a burst (default 500 pods created at once): time until the last has its network-status, pods/s;
# before them a warm-up (not counted: JIT): --warmup pods (default 5000) in bursts of 250, then bursts of 250 on until
# the JIT of the lab's JVMs compiled fewer than JIT_SETTLED (200) methods in two bursts in a row, WARMUP_MAX_EXTRA
# (5000) pods at most; after them each process's CPU per pod over the measured phases (its JIT compiler threads'
# share too) and peak RSS (VmHWM). Last line: one JSON object. Options: --rate N --seconds N --burst N --warmup N.
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
# The load generator shares the 2 cores with what it measures: a short-lived JVM, so C1 only and the serial GC
# (measured: 3.6 s of CPU instead of 6.2 s for the 1,000 measured pods, most of the difference C2 compiling it).
bench=(java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -jar "$NETATTACH_ROOT/deploy/local/lab/target/netattach-lab.jar" bench-attach --api "http://127.0.0.1:${LAB_API_PORT:-6443}" --nodes "$nodes")
# The warm-up (--warmup N, default 5000 pods in bursts of 250) runs first, on its own, so that the CPU each
# process spends can be counted over the measured phases only.
warmup=5000
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --warmup) warmup="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
# Methods the JIT of the lab's JVMs and the broker compiled, together (HotSpot's sun.ci.totalCompiles, read from
# their hsperfdata); -1 if one cannot be read.
jit_compiles() {
  local pids=() f
  for f in "$LAB"/*.pid "$NETATTACH_STATE/kafka.pid"; do [ -f "$f" ] && pids+=("$(cat "$f")"); done
  python3 - "${pids[@]}" <<'PY'
import glob, struct, sys
def compiles(pid):
    for path in glob.glob(f"/tmp/hsperfdata_*/{pid}"):
        data = open(path, "rb").read()
        order = "<" if data[4] == 1 else ">"  # PerfDataPrologue: magic, byte order, ..., entry offset, entry count
        entry, count = struct.unpack_from(order + "ii", data, 24)
        for _ in range(count):
            length, name_at, vector, kind = struct.unpack_from(order + "iiib", data, entry)
            data_at = struct.unpack_from(order + "i", data, entry + 16)[0]
            name = data[entry + name_at:data.index(b"\0", entry + name_at)].decode()
            if name == "sun.ci.totalCompiles" and kind == ord("J") and vector == 0:
                return struct.unpack_from(order + "q", data, entry + data_at)[0]
            entry += length
    return None
counts = [compiles(p) for p in sys.argv[1:]]
print(-1 if None in counts else sum(counts))
PY
}
jit_settled=${JIT_SETTLED:-200}
warmup_max_extra=${WARMUP_MAX_EXTRA:-5000}
if [ "$warmup" -gt 0 ]; then
  "${bench[@]}" --warmup "$warmup" --only-warmup true 2>> "$LAB/bench-attach.err" | sed 's/^/  /'
  # a fixed warm-up left the measured phases compiling: the connector's code is still being compiled after 5,000 pods
  compiled=$(jit_compiles); quiet=0; extra=0
  while [ "$compiled" -ge 0 ] && [ "$quiet" -lt 2 ] && [ "$extra" -lt "$warmup_max_extra" ]; do
    "${bench[@]}" --warmup 250 --only-warmup true 2>> "$LAB/bench-attach.err" | sed 's/^/  /'
    now=$(jit_compiles); extra=$((extra + 250))
    say "  JIT: $((now - compiled)) methods compiled in that burst (settled below $jit_settled)"
    if [ "$((now - compiled))" -lt "$jit_settled" ]; then quiet=$((quiet + 1)); else quiet=0; fi
    compiled=$now
  done
  warmup=$((warmup + extra))
fi
jit_before=$(jit_compiles)
# CPU ticks per process (user + system, plus its waited-for children: the plugin processes a lab kubelet execs),
# and those of its JIT compiler threads ("C1/C2 CompilerThread"; the fields after the name, which has a space).
# Two processes per snapshot, not two per thread.
cpu_snapshot() {
  local f name pid jit
  for f in "$LAB"/*.pid "$NETATTACH_STATE/kafka.pid"; do
    name=$(basename "$f" .pid); pid=$(cat "$f")
    [ -d "/proc/$pid" ] || continue
    jit=$(grep -l 'CompilerThre' /proc/"$pid"/task/*/comm 2>/dev/null | sed 's/comm$/stat/' | xargs -r cat 2>/dev/null \
      | awk '{ sub(/^.*\) /, ""); split($0, f, " "); t += f[12] + f[13] } END { print t + 0 }')
    echo "$name $(awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat") $jit"
  done
}
before=$(cpu_snapshot)
out=$("${bench[@]}" --warmup 0 "${args[@]}" 2>> "$LAB/bench-attach.err")
after=$(cpu_snapshot)
jit_after=$(jit_compiles)
echo "$out" | grep -v '^{'
pods=$(echo "$out" | grep '^{' | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["steady"]["pods"] + d["burst"]["pods"])')
[ "$pods" -gt 0 ] || pods=1 # no pod measured (--rate 0 --burst 0): per-pod figures are then per run
hz=$(getconf CLK_TCK)
cpu_table=$(join <(echo "$before" | sort) <(echo "$after" | sort) | awk -v pods="$pods" -v hz="$hz" '
  { ms = ($4 - $2) * 1000 / hz / pods; jit = ($5 - $3) * 1000 / hz / pods; total += ms; totaljit += jit
    printf "CPU per pod (attach + delete, measured phases) %-15s %6.2f ms (JIT compiler threads %.2f)\n", $1, ms, jit
    json = json sep "\"" $1 "\":" sprintf("%.2f", ms); sep = "," }
  END { printf "CPU per pod (attach + delete, measured phases) %-15s %6.2f ms (JIT compiler threads %.2f)\n", "all", total, totaljit
        printf "JSON {%s,\"all\":%.2f,\"all_jit\":%.2f}\n", json, total, totaljit }')
echo "$cpu_table" | grep -v '^JSON '
cpu=$(echo "$cpu_table" | sed -n 's/^JSON //p')
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
echo "${json%\}},\"peak_rss_mib\":$rss,\"cpu_ms_per_pod\":$cpu,\"warmup_pods\":$warmup,\"jit_compiles_measured\":$((jit_after - jit_before)),\"nodes\":$(cat "$LAB/nodes"),\"primary_cni\":\"$primary\"}"
