#!/bin/sh
# Puts the netattach CNI shim at the end of the node's primary CNI chain, or takes it out again.
#
#   cni-install install     copy the shim into $CNI_BIN_DIR, append it to the primary conflist (once)
#   cni-install keep        install, then re-append every $KEEP_INTERVAL_SECONDS if the primary CNI
#                           rewrote its conflist without it
#   cni-install uninstall   remove the shim from every conflist in $CNI_CONF_DIR and delete the binary
#
# The primary conflist is the one the container runtime uses: the first *.conflist, *.conf or *.json in
# $CNI_CONF_DIR by name (libcni's order). Only a .conflist can be chained; a single-plugin .conf first
# wins is reported as an error instead of being rewritten behind the primary CNI's back.
# Every file is written to a temporary name beside it and renamed, so a runtime never reads half a file.
set -eu

action=${1:-install}
bin_dir=${CNI_BIN_DIR:-/host/opt/cni/bin}
conf_dir=${CNI_CONF_DIR:-/host/etc/cni/net.d}
shim_source=${SHIM_SOURCE:-/opt/netattach/shim/netattach-shim}
shim_type=netattach-shim
# The plugin entry appended to the chain; the shim reads its own keys (see node-worker's docs).
shim_conf=${NETATTACH_SHIM_CONF:-'{"type":"netattach-shim"}'}
wait_seconds=${CNI_WAIT_SECONDS:-300}
keep_interval=${KEEP_INTERVAL_SECONDS:-30}

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

install_binary() {
  [ -f "$shim_source" ] || die "shim binary not found at $shim_source"
  if [ -f "$bin_dir/$shim_type" ] && cmp -s "$shim_source" "$bin_dir/$shim_type"; then
    return 0
  fi
  cp "$shim_source" "$bin_dir/.$shim_type.netattach-tmp"
  chmod 0755 "$bin_dir/.$shim_type.netattach-tmp"
  mv -f "$bin_dir/.$shim_type.netattach-tmp" "$bin_dir/$shim_type"
  log "installed $bin_dir/$shim_type"
}

# Writes $2 (a jq filter over the file) into $1 through a temporary file and a rename.
rewrite() {
  file=$1 filter=$2 tmp="$conf_dir/.$(basename "$1").netattach-tmp"
  jq --argjson shim "$shim_conf" --arg type "$shim_type" "$filter" "$file" >"$tmp" || { rm -f "$tmp"; die "cannot rewrite $file"; }
  chmod --reference="$file" "$tmp" 2>/dev/null || true
  mv -f "$tmp" "$file"
}

chained() {
  jq -e --arg type "$shim_type" '(.plugins // []) | map(.type) | index($type) != null and (.[-1] == $type)' "$1" >/dev/null 2>&1
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
  rm -f "$bin_dir/$shim_type" "$bin_dir/.$shim_type.netattach-tmp"
  log "removed $bin_dir/$shim_type"
}

command -v jq >/dev/null 2>&1 || die "jq is required"
case "$action" in
  install)
    install_binary
    chain
    ;;
  keep)
    install_binary
    chain
    while sleep "$keep_interval"; do chain; done
    ;;
  uninstall)
    unchain
    ;;
  *)
    die "unknown action \"$action\" (install, keep or uninstall)"
    ;;
esac
