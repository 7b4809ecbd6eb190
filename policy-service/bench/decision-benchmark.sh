#!/bin/sh
# Decisions per second of policy-service's gate (domain only, local RBAC evaluator, in-memory indexed caches).
# Usage: policy-service/bench/decision-benchmark.sh [namespaces] [policies-per-namespace] [requests]
# Compiles through the shared Maven lock, then runs on one JVM. Prints figures; asserts nothing.
set -eu
cd "$(dirname "$0")/../.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
flock /tmp/netattach-mvn.lock ./mvnw -B -ntp -o -q -pl policy-service test-compile
exec "$JAVA_HOME/bin/java" -cp policy-service/target/classes:policy-service/target/test-classes \
  io.netattach.policy.domain.DecisionBenchmark "$@"
