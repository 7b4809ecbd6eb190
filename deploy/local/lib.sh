# Shared by deploy/local/*.sh: sourced, never run.
# Where things live: the repo (NETATTACH_ROOT), runtime state and logs outside git (NETATTACH_STATE).
NETATTACH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NETATTACH_STATE=${NETATTACH_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/netattach}
NETATTACH_CACHE=${NETATTACH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/netattach}
KAFKA_VERSION=4.4.0
mkdir -p "$NETATTACH_STATE/logs" "$NETATTACH_CACHE"

say()  { printf '\033[1m==> %s\033[0m\n' "$*"; }
warn() { printf 'WARN: %s\n' "$*" >&2; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# A JDK 25: JAVA_HOME if it is one, else Temurin 25 under /usr/lib/jvm.
find_jdk25() {
  local candidate
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] || continue
    # not the first line: JAVA_TOOL_OPTIONS / JDK_JAVA_OPTIONS make the JVM print "Picked up ..." before it
    if "$candidate/bin/java" -version 2>&1 | grep -qE '^(openjdk|java) version "25'; then
      export JAVA_HOME=$candidate
      export PATH="$JAVA_HOME/bin:$PATH"
      return 0
    fi
  done
  die "no JDK 25 found: set JAVA_HOME to a JDK 25 (expected /usr/lib/jvm/temurin-25-jdk-amd64)"
}

# Debian packages the lab and the tests use: the reference CNI plugins (/usr/lib/cni), ip/bridge, ping,
# psql, and a C compiler with a static libc for the CNI shim (node-worker/src/main/shim/netattach-shim.c).
ensure_packages() {
  local pkg need=()
  for pkg in containernetworking-plugins iproute2 iputils-ping postgresql-client-15 gcc libc6-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
  done
  [ ${#need[@]} -gt 0 ] || return 0
  say "installing ${need[*]}"
  [ "$(id -u)" = 0 ] || die "installing ${need[*]} needs root"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
}

# True when something accepts TCP connections on host:port.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# Wait up to $3 seconds for host:port to accept connections.
wait_port() {
  local host=$1 port=$2 limit=${3:-60} i
  for ((i = 0; i < limit * 5; i++)); do
    port_open "$host" "$port" && return 0
    sleep 0.2
  done
  return 1
}

# Is the process in pid file $1 alive?
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Stop the process in pid file $1 (TERM, then KILL after $2 seconds) and remove the file.
stop_pid() {
  local file=$1 grace=${2:-20} pid i
  if pid_alive "$file"; then
    pid=$(cat "$file")
    kill "$pid" 2>/dev/null
    for ((i = 0; i < grace * 5; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$file"
}

MVNW="$NETATTACH_ROOT/mvnw"
