#!/usr/bin/env bash
# Deletes a cluster made by hack/kind-up.sh: stops its kwok controller (by the pid kind-up.sh wrote),
# `kind delete cluster`, and removes its state directory. Deleting a cluster that is not there is not
# an error.
# Usage: hack/kind-down.sh [--name NAME]   (default: $KIND_CLUSTER_NAME, else scheduler-ext)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
name="${KIND_CLUSTER_NAME:-scheduler-ext}"

die() {
  printf 'kind-down: ERROR: %s\n' "$*" >&2
  exit "${2:-1}"
}

case "${1:-}" in
  --name)
    [ $# -ge 2 ] || die "--name needs a value" 2
    name="$2"
    ;;
  "") ;;
  *) die "unknown argument '$1' (usage: $0 [--name NAME])" 2 ;;
esac

# shellcheck source=kind-state.sh
source "$repo/hack/kind-state.sh"

if [ -f "$state/kwok.pid" ]; then
  pid="$(cat "$state/kwok.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
  fi
fi
if [ -f "$state/kind" ]; then
  kind="$(cat "$state/kind")"
elif dir="$("$repo/hack/kind-node-image.sh" --check 2>/dev/null)"; then
  kind="$dir/bin/kind"
else
  kind="$(command -v kind)" || die "no kind binary: neither hack/kind-node-image.sh's nor one on PATH"
fi
"$kind" delete cluster --name "$name" >&2
rm -rf "$state"
