#!/bin/sh
# Puts the netattach CNI shim at the end of the node's primary CNI chain, or takes it out again.
#
#   cni-install install     copy the shim executable netattach-shim into the node's CNI bin dir and
#                           append the shim to the primary conflist
#   cni-install keep        every $KEEP_INTERVAL_SECONDS, re-append the shim if the primary CNI rewrote its
#                           conflist without it (not after an uninstall: see the marker below)
#   cni-install check       one pass of keep
#   cni-install uninstall   remove the shim from every conflist and delete the executable
#   cni-install clear-marker  forget an uninstall (run when the uninstall DaemonSet is deleted)
#
# The shim (node-worker/src/main/shim/netattach-shim.c) is a small statically linked executable: it needs
# nothing on the node but the kernel, and a pod start costs one small process (no JVM per CNI call).
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
# Where the image ships the shim executable.
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

# Copies the executable under a temporary name beside its target, then renames it over the old one: a
# runtime starting the shim meanwhile runs the old or the new file, never half a file.
install_files() {
  [ -f "$shim_source/$shim_type" ] || die "shim not found at $shim_source/$shim_type"
  if [ -f "$bin_dir/$shim_type" ] && cmp -s "$shim_source/$shim_type" "$bin_dir/$shim_type"; then
    return 0
  fi
  tmp="$bin_dir/.$shim_type.netattach-tmp"
  cp "$shim_source/$shim_type" "$tmp" || { rm -f "$tmp"; die "cannot write $tmp"; }
  chmod 0755 "$tmp"
  mv -f "$tmp" "$bin_dir/$shim_type"
  log "installed $bin_dir/$shim_type"
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
    log "removed $bin_dir/$shim_type"
    ;;
  clear-marker)
    rm -f "$marker"
    ;;
  *)
    die "unknown action \"$action\" (install, keep, check, uninstall or clear-marker)"
    ;;
esac
