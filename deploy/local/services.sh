#!/usr/bin/env bash
# The stores the services need, started for real on this machine (no Docker):
#   PostgreSQL (the machine's own cluster; our role and databases created if missing)
#   Kafka (single-node KRaft broker on 127.0.0.1:9092, jars fetched from Maven Central once)
# Usage: deploy/local/services.sh start|stop|status      (start and stop are idempotent)
#        deploy/local/services.sh topics [suffix]        (makes the topics of deploy/kubernetes/kafka/topics.yaml)
#        deploy/local/services.sh clean-test-topics      (deletes the per-run topics that tests create)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

KAFKA_HOME="$NETATTACH_CACHE/kafka-$KAFKA_VERSION"
KAFKA_DATA="$NETATTACH_STATE/kafka-data"
KAFKA_PID="$NETATTACH_STATE/kafka.pid"
KAFKA_LOG="$NETATTACH_STATE/logs/kafka.log"
KAFKA_PORT=${NETATTACH_KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${NETATTACH_KAFKA_CONTROLLER_PORT:-9093}
PG_HOST=127.0.0.1
PG_PORT=${NETATTACH_PG_PORT:-5432}
# Databases owned by a service: one each, plus its test database.
PG_DATABASES=(netattach_ipam netattach_ipam_test)
PG_ROLE=netattach_ipam

pg_start() {
  if ! command -v psql >/dev/null; then die "PostgreSQL client (psql) not found; install postgresql-15"; fi
  if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
    [ -n "$version" ] || die "no PostgreSQL cluster under /etc/postgresql: install postgresql-15"
    say "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 1 60); do pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && break; sleep 0.5; done
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || die "PostgreSQL did not come up on $PG_HOST:$PG_PORT"
  fi
  local psql=(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
  if [ "$("${psql[@]}" -c "select 1 from pg_roles where rolname='$PG_ROLE'")" != 1 ]; then
    "${psql[@]}" -c "create role $PG_ROLE login password 'netattach'"
  fi
  local db
  for db in "${PG_DATABASES[@]}"; do
    if [ "$("${psql[@]}" -c "select 1 from pg_database where datname='$db'")" != 1 ]; then
      "${psql[@]}" -c "create database $db owner $PG_ROLE"
    fi
  done
  say "PostgreSQL ready on $PG_HOST:$PG_PORT (databases: ${PG_DATABASES[*]}, role $PG_ROLE)"
}

kafka_fetch() {
  if ! ls "$KAFKA_HOME/libs"/kafka_2.13-"$KAFKA_VERSION".jar "$KAFKA_HOME/libs"/kafka-tools-"$KAFKA_VERSION".jar >/dev/null 2>&1; then
    say "fetching Kafka $KAFKA_VERSION broker jars from Maven Central into $KAFKA_HOME/libs"
    "$MVNW" -q -B -f "$NETATTACH_ROOT/deploy/local/kafka/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$KAFKA_HOME/libs" -DincludeScope=runtime \
      || die "could not fetch the Kafka jars (see the Maven output above)"
  fi
}

kafka_config() {
  mkdir -p "$KAFKA_DATA"
  cat > "$NETATTACH_STATE/kafka-server.properties" <<PROPS
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
log.dirs=$KAFKA_DATA
auto.create.topics.enable=false
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
PROPS
  cat > "$NETATTACH_STATE/kafka-log4j2.properties" <<PROPS
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=file
appender.file.type=File
appender.file.name=file
appender.file.fileName=$KAFKA_LOG
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
logger.kafka.name=kafka
logger.kafka.level=INFO
logger.state.name=state.change.logger
logger.state.level=WARN
PROPS
}

kafka_java() {
  java -Xms256m -Xmx512m -XX:+UseG1GC -Dlog4j2.configurationFile="$NETATTACH_STATE/kafka-log4j2.properties" \
    -cp "$KAFKA_HOME/libs/*" "$@"
}

kafka_start() {
  if pid_alive "$KAFKA_PID" && port_open 127.0.0.1 "$KAFKA_PORT"; then
    say "Kafka already running (pid $(cat "$KAFKA_PID")) on 127.0.0.1:$KAFKA_PORT"
    return 0
  fi
  if port_open 127.0.0.1 "$KAFKA_PORT"; then
    die "port $KAFKA_PORT is taken by a process that is not our broker; stop it or set NETATTACH_KAFKA_PORT"
  fi
  kafka_fetch
  kafka_config
  if [ ! -f "$KAFKA_DATA/meta.properties" ]; then
    say "formatting KRaft storage in $KAFKA_DATA"
    kafka_java kafka.tools.StorageTool format --standalone -t "$(kafka_java kafka.tools.StorageTool random-uuid)" \
      -c "$NETATTACH_STATE/kafka-server.properties" >>"$KAFKA_LOG" 2>&1 \
      || die "formatting Kafka storage failed; see $KAFKA_LOG"
  fi
  say "starting Kafka $KAFKA_VERSION (KRaft, single node) on 127.0.0.1:$KAFKA_PORT"
  nohup setsid java -Xms256m -Xmx512m -XX:+UseG1GC \
    -Dlog4j2.configurationFile="$NETATTACH_STATE/kafka-log4j2.properties" \
    -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$NETATTACH_STATE/kafka-server.properties" \
    >>"$NETATTACH_STATE/logs/kafka.out" 2>&1 </dev/null &
  echo $! > "$KAFKA_PID"
  if ! wait_port 127.0.0.1 "$KAFKA_PORT" 90; then
    tail -20 "$NETATTACH_STATE/logs/kafka.out" "$KAFKA_LOG" >&2 || true
    stop_pid "$KAFKA_PID" 5
    die "Kafka did not accept connections on 127.0.0.1:$KAFKA_PORT within 90 s (logs: $KAFKA_LOG)"
  fi
  say "Kafka ready (pid $(cat "$KAFKA_PID"))"
}

kafka_stop() {
  if pid_alive "$KAFKA_PID"; then
    say "stopping Kafka (pid $(cat "$KAFKA_PID"))"
    stop_pid "$KAFKA_PID" 30
  else
    rm -f "$KAFKA_PID"
  fi
}

# Test runs give every topic a per-start suffix (.t<uuid>); benchmarks use .bench<hex>. Delete those.
clean_test_topics() {
  pid_alive "$KAFKA_PID" || return 0
  kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --delete \
    --if-exists --topic 'netattach\..*\.(t[0-9a-f-]{36}|bench[0-9a-f]+|lab[0-9]+)' >/dev/null 2>&1 || true
}

# Makes the topics of deploy/kubernetes/kafka/topics.yaml (the one declaration) on the local broker, each name with
# the given suffix (none for the demo, .lab<ts> for a lab, .bench<hex> for a benchmark). The services never create them.
make_topics() {
  [[ "${1:-}" =~ ^[A-Za-z0-9._-]*$ ]] || die "topic suffix: letters, digits, '.', '_', '-' only, got \"$1\""
  pid_alive "$KAFKA_PID" || die "Kafka is not running (deploy/local/services.sh start)"
  kafka_java "$NETATTACH_ROOT/deploy/local/topics/java/io/netattach/topics/KafkaTopics.java" \
    --bootstrap "127.0.0.1:$KAFKA_PORT" --file "$NETATTACH_ROOT/deploy/kubernetes/kafka/topics.yaml" --suffix "${1:-}" \
    2> >(grep -v '^SLF4J' >&2) || die "making the Kafka topics failed"
}

# Deletes the topics of one lab run (suffix like .lab1764460000), when the lab goes down.
delete_topics() {
  [[ "$1" =~ ^\.lab[0-9]+$ ]] || die "not a lab topic suffix: \"$1\""
  pid_alive "$KAFKA_PID" || return 0
  kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --delete \
    --if-exists --topic "netattach\\..*\\${1}" >/dev/null 2>&1 || true
}

status() {
  if pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
    echo "PostgreSQL  running   $PG_HOST:$PG_PORT   databases: ${PG_DATABASES[*]}   logs: /var/log/postgresql/"
  else
    echo "PostgreSQL  stopped"
  fi
  if pid_alive "$KAFKA_PID"; then
    echo "Kafka       running   127.0.0.1:$KAFKA_PORT   pid $(cat "$KAFKA_PID")   logs: $KAFKA_LOG"
  else
    echo "Kafka       stopped   (logs: $KAFKA_LOG)"
  fi
  echo "state and logs: $NETATTACH_STATE"
}

case "${1:-}" in
  start)  find_jdk25; pg_start; kafka_start ;;
  stop)   kafka_stop; echo "PostgreSQL is the machine's own cluster and keeps running." ;;
  status) status ;;
  clean-test-topics) find_jdk25; clean_test_topics ;;
  delete-topics) find_jdk25; delete_topics "${2:-}" ;;
  topics) find_jdk25; make_topics "${2:-}" ;;
  *) echo "usage: $0 start|stop|status|topics [suffix]|clean-test-topics" >&2; exit 2 ;;
esac
