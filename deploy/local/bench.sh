#!/usr/bin/env bash
# Benchmarks (never tests): deploy/local/bench.sh ipam|ipam-sql|netlink|attach|cni
# Each prints its figures and ends with one JSON line; record them in docs/benchmarks.md.
set -euo pipefail
here=$(dirname "$0")
case "${1:-}" in
  ipam|ipam-sql|netlink|attach|cni)
    script="$here/bench-$1.sh"
    [ -x "$script" ] || { echo "bench $1: not written yet ($script)" >&2; exit 2; }
    shift; exec "$script" "$@" ;;
  *) echo "usage: $0 ipam|ipam-sql|netlink|attach|cni" >&2; exit 2 ;;
esac
