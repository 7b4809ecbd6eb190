#!/bin/sh
# Puts the netattach CNI shim at the end of the node's primary CNI chain, or takes it out again.
#
#   cni-install install     copy the shim (script, jar, Java runtime) to the node, put a launcher named
#                           netattach-shim into the CNI bin dir, append the shim to the primary conflist
#   cni-install keep        every $KEEP_INTERVAL_SECONDS, re-append the shim if the primary CNI rewrote its
#                           conflist without it (not after an uninstall: see the marker below)
#   cni-install check       one pass of keep
#   cni-install uninstall   remove the shim from every conflist, delete the launcher and the copied files
#   cni-install clear-marker  forget an uninstall (run when the uninstall DaemonSet is deleted)
#
# The shim (node-worker/src/main/shim/netattach-shim) is a small script that runs a JDK-only jar. Nodes
# have no Java, so the image ships a java.base-only runtime beside it, and the launcher in the CNI bin dir
# points the shim at that runtime and jar.
#
# The primary conflist is the one the container runtime uses: the first *.conflist, *.conf or *.json in
# $CNI_CONF_DIR by name (libcni's order). Only a .conflist can be chained; a single-plugin .conf that would
# be picked first is reported as an error instead of being rewritten behind the primary CNI's back.
# Files are written under a temporary name beside their target and renamed, so a runtime never reads half
# a file. No value read from the node is ever evaluated by this shell.
set -eu

action=${1:-install}
# Seen from this container (the DaemonSet mounts the node's directories under /host).
bin_dir=${CNI_BIN_DIR:-/host/opt/cni/bin}
conf_dir=${CNI_CONF_DIR:-/host/etc/cni/net.d}
files_mount=${NETATTACH_HOST_DIR_MOUNT:-/host/opt/netattach}
# The same files directory as the node (and so the container runtime running the launcher) sees it.
files_on_node=${NETATTACH_HOST_DIR:-/opt/netattach}
# What the image ships: netattach-shim, netattach-shim.jar, jre/ (optional: without it the shim looks
# for Java on the node itself).
shim_source=${SHIM_SOURCE_DIR:-/opt/netattach/shim}
shim_type=netattach-shim
# The plugin entry appended to the chain; the shim reads its own keys (e.g. "socketPath").
shim_conf=${NETATTACH_SHIM_CONF:-'{"type":"netattach-shim"}'}
wait_seconds=${CNI_WAIT_SECONDS:-300}
keep_interval=${KEEP_INTERVAL_SECONDS:-30}
# Written by uninstall, removed by install: the keeper must not re-chain a node being uninstalled.
marker="$conf_dir/.netattach-uninstalled"

log() { printf 'cni-install: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The file libcni would pick: first by name among .conf, .conflist, .json.
primary_conf() {
  for f in "$conf_dir"/*; do
    case "$f" in
      *.conf | *.conflist | *.json) [ -f "$f" ] && { printf '%s\n' "$f"; return 0; } ;;
    esac
  done
  return 1
}

launcher() {
  printf '#!/bin/sh\n'
  printf '# netattach CNI shim launcher, written by node-worker'"'"'s cni-install; removed by its uninstall.\n'
  if [ -x "$shim_source/jre/bin/java" ]; then
    printf 'NETATTACH_JAVA=%s/shim/jre/bin/java\nexport NETATTACH_JAVA\n' "$files_on_node"
  fi
  printf 'NETATTACH_SHIM_JAR=%s/shim/netattach-shim.jar\nexport NETATTACH_SHIM_JAR\n' "$files_on_node"
  printf 'exec %s/shim/netattach-shim "$@"\n' "$files_on_node"
}

install_files() {
  [ -f "$shim_source/netattach-shim" ] || die "shim not found at $shim_source/netattach-shim"
  [ -f "$shim_source/netattach-shim.jar" ] || die "shim jar not found at $shim_source/netattach-shim.jar"
  mkdir -p "$files_mount"
  if ! { [ -d "$files_mount/shim" ] && diff -r "$shim_source" "$files_mount/shim" >/dev/null 2>&1; }; then
    rm -rf "$files_mount/.shim.netattach-tmp" "$files_mount/.shim.netattach-old"
    cp -R "$shim_source" "$files_mount/.shim.netattach-tmp"
    [ -d "$files_mount/shim" ] && mv "$files_mount/shim" "$files_mount/.shim.netattach-old"
    mv "$files_mount/.shim.netattach-tmp" "$files_mount/shim"
    rm -rf "$files_mount/.shim.netattach-old"
    log "copied $shim_source to $files_on_node/shim"
  fi
  tmp="$bin_dir/.$shim_type.netattach-tmp"
  launcher >"$tmp"
  chmod 0755 "$tmp"
  if [ -f "$bin_dir/$shim_type" ] && cmp -s "$tmp" "$bin_dir/$shim_type"; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$bin_dir/$shim_type"
    log "installed $bin_dir/$shim_type"
  fi
}

# Rewrites $1 with the jq filter $2, through a temporary file and a rename.
rewrite() {
  file=$1 filter=$2 tmp="$conf_dir/.$(basename "$1").netattach-tmp"
  jq --argjson shim "$shim_conf" --arg type "$shim_type" "$filter" "$file" >"$tmp" || { rm -f "$tmp"; die "cannot rewrite $file"; }
  chmod --reference="$file" "$tmp" 2>/dev/null || true
  mv -f "$tmp" "$file"
}

chained() {
  jq -e --arg type "$shim_type" '(.plugins // []) | map(.type) | (index($type) != null) and (.[-1] == $type)' "$1" >/dev/null 2>&1
}

chain() {
  waited=0
  while ! conf=$(primary_conf); do
    [ "$waited" -ge "$wait_seconds" ] && die "no CNI configuration in $conf_dir after ${wait_seconds}s: is the primary CNI installed?"
    sleep 2
    waited=$((waited + 2))
  done
  case "$conf" in
    *.conflist) ;;
    *) die "$conf is the node's primary CNI config but not a .conflist; netattach chains only into a plugin list (convert it, or set the primary CNI to write a conflist)" ;;
  esac
  jq -e '.plugins | type == "array"' "$conf" >/dev/null 2>&1 || die "$conf has no \"plugins\" list"
  if chained "$conf"; then
    return 0
  fi
  # Drop any older shim entry, then append ours last: it must run after the primary plugin made eth0.
  rewrite "$conf" '.plugins |= (map(select(.type != $type)) + [$shim])'
  log "chained $shim_type into $conf"
}

unchain() {
  for f in "$conf_dir"/*.conflist; do
    [ -f "$f" ] || continue
    if jq -e --arg type "$shim_type" '(.plugins // []) | map(.type) | index($type) != null' "$f" >/dev/null 2>&1; then
      rewrite "$f" '.plugins |= map(select(.type != $type))'
      log "removed $shim_type from $f"
    fi
  done
}

command -v jq >/dev/null 2>&1 || die "jq is required"
case "$action" in
  install)
    rm -f "$marker"
    install_files
    chain
    ;;
  keep)
    while :; do
      [ -e "$marker" ] || chain
      sleep "$keep_interval"
    done
    ;;
  check)
    [ -e "$marker" ] || chain
    ;;
  uninstall)
    : >"$marker"
    unchain
    rm -f "$bin_dir/$shim_type" "$bin_dir/.$shim_type.netattach-tmp"
    rm -rf "$files_mount/shim" "$files_mount/.shim.netattach-tmp" "$files_mount/.shim.netattach-old"
    log "removed $bin_dir/$shim_type and $files_on_node/shim"
    ;;
  clear-marker)
    rm -f "$marker"
    ;;
  *)
    die "unknown action \"$action\" (install, keep, check, uninstall or clear-marker)"
    ;;
esac
