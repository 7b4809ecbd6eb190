#!/usr/bin/env bash
# The README's test command: from a fresh clone on this kind of machine, installs what is missing,
# starts PostgreSQL and Kafka, runs the whole test suite, stops what it started, exits with the tests' status.
# Then brings the local lab up and runs the end-to-end scenarios of the seed (deploy/local/lab).
# Extra arguments go to Maven (e.g. deploy/local/test.sh -pl ipam-service) and skip the end-to-end part.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
find_jdk25

ensure_packages

# Start only what is not running, and stop on exit only what this script started.
kafka_was_running=false
# (status captured first: `grep -q` closing the pipe early would fail the pipeline under pipefail)
services_status=$("$NETATTACH_ROOT/deploy/local/services.sh" status)
grep -q '^Kafka *running' <<<"$services_status" && kafka_was_running=true
cleanup() {
  "$NETATTACH_ROOT/deploy/local/lab.sh" down >/dev/null 2>&1 || true
  "$NETATTACH_ROOT/deploy/local/services.sh" clean-test-topics || true
  # Namespaces of a crashed test run carry our prefix; remove them so the next run starts clean.
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^na-' || true); do ip netns delete "$ns" 2>/dev/null || true; done
  if [ "$kafka_was_running" = false ]; then "$NETATTACH_ROOT/deploy/local/services.sh" stop || true; fi
}
trap cleanup EXIT
"$NETATTACH_ROOT/deploy/local/services.sh" start

cd "$NETATTACH_ROOT"
say "unit, service and live netlink tests (every module)"
set +e
# the profile `local`: the tests use the stores started above, not Dev Services (no Docker here)
"$MVNW" -B -ntp verify -Dquarkus.test.profile=test,local "$@"
status=$?
set -e
if [ $status -eq 0 ] && [ $# -eq 0 ]; then
  say "end-to-end: the seed's scenarios on the local lab"
  "$NETATTACH_ROOT/deploy/local/lab.sh" down >/dev/null 2>&1 || true
  set +e
  "$MVNW" -B -q -ntp -f deploy/local/lab/pom.xml -DskipTests package \
    && NETATTACH_TRACING_RATIO=1 "$NETATTACH_ROOT/deploy/local/lab.sh" up --nodes 2 --member east \
    && "$MVNW" -B -ntp -f deploy/local/lab/pom.xml test \
    && say "end-to-end: the broker killed for 90 s under the running lab" \
    && "$MVNW" -B -ntp -f deploy/local/lab/pom.xml surefire:test -Dgroups=outage -Dlab.excludedGroups=none
  status=$?
  set -e
  [ $status -eq 0 ] || say "end-to-end failed: lab logs in $NETATTACH_STATE/lab/"
fi
[ $status -eq 0 ] && say "tests passed" || say "tests FAILED (exit $status)"
exit $status
