#!/usr/bin/env bash
# The README's main job (for now): start PostgreSQL and Kafka, build and start all four services,
# show each one's health, and keep them running until Ctrl-C (or exit at once with --no-wait).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
find_jdk25

wait_forever=true
[ "${1:-}" = "--no-wait" ] && wait_forever=false

"$NETATTACH_ROOT/deploy/local/services.sh" start
cd "$NETATTACH_ROOT"
if ! ls */target/quarkus-app/quarkus-run.jar >/dev/null 2>&1 || [ "$(ls */target/quarkus-app/quarkus-run.jar | wc -l)" -lt 4 ]; then
  say "building the four services (first build downloads dependencies)"
  "$MVNW" -B -q -ntp -DskipTests package
fi

declare -A ports=([ipam-service]=8081 [attach-service]=8082 [policy-service]=8083 [node-worker]=8090)
pids=()
stop_all() {
  say "stopping the services"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$NETATTACH_ROOT/deploy/local/services.sh" stop
}
trap stop_all EXIT
for svc in ipam-service policy-service attach-service node-worker; do
  log="$NETATTACH_STATE/logs/$svc.log"
  say "starting $svc on :${ports[$svc]} (log: $log)"
  java --enable-native-access=ALL-UNNAMED -jar "$svc/target/quarkus-app/quarkus-run.jar" >"$log" 2>&1 &
  pids+=($!)
done
for svc in ipam-service policy-service attach-service node-worker; do
  url="http://127.0.0.1:${ports[$svc]}/q/health/ready"
  ok=false
  for _ in $(seq 1 120); do
    if body=$(curl -fsS "$url" 2>/dev/null); then ok=true; break; fi
    sleep 0.5
  done
  if $ok; then printf '%-15s %s\n' "$svc" "$(echo "$body" | tr -d '\n ' | cut -c1-160)"
  else printf '%-15s NOT READY (see %s)\n' "$svc" "$NETATTACH_STATE/logs/$svc.log"; fi
done
echo
echo "Swagger UI: http://127.0.0.1:8081/q/swagger-ui (ipam), :8082 (attach), :8083 (policy); metrics at /q/metrics"
if $wait_forever; then
  say "running; Ctrl-C stops everything"
  wait
fi
