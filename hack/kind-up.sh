#!/usr/bin/env bash
# Creates the kind cluster of kind-config.yaml on this machine, without any image registry: the node
# image and the kind binary come from hack/kind-node-image.sh (built once, cached), then
#   kind create cluster --config kind-config.yaml --image <that node image> --wait 120s
# waits for CoreDNS, and with --kwok-nodes N adds N kwok fake nodes for scheduling scenarios.
#
# The kwok controller runs outside the cluster, as a process of this machine against the cluster's
# kubeconfig (the harness's kwok binary, hack/kube-bins.sh), managing only the nodes that carry the
# annotation kwok.x-k8s.io/node=fake (testkit/builders.py makes them): the real node and its pods are
# left to the kubelet. Its pid and log are in the cluster's state directory; hack/kind-down.sh stops it.
#
# With the offline node image it also runs the cluster's NetworkPolicy enforcer, kube-router's network
# policy controller (hack/kind-netpol.sh, hack/lib/kind-netpol.yaml), and waits until it is ready; the
# public node image's kindnetd enforces NetworkPolicy itself.
#
# On stdout it prints the cluster's kubeconfig path, and only that; progress goes to stderr.
# The fake nodes carry the taint kwok.x-k8s.io/node=fake:NoSchedule: only pods that tolerate it (the
# scenario's workloads, DaemonSets) land there, everything else (the chart's pods, CoreDNS) stays on
# the real node, where it really runs.
#
# Usage: hack/kind-up.sh [--name NAME] [--kwok-nodes N]
#   export KUBECONFIG=$(hack/kind-up.sh --kwok-nodes 3)
# Environment: KIND_CLUSTER_NAME: the cluster's name when --name is not given (kind's own variable;
#              default scheduler-ext); KIND_NODE_IMAGE: a node image to use instead of building one
#              (e.g. kindest/node:..., with `kind` from PATH); KIND_STATE: where clusters' state
#              directories go.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
name="${KIND_CLUSTER_NAME:-scheduler-ext}"
kwok_nodes=0

log() { printf 'kind-up: %s\n' "$*" >&2; }
die() {
  printf 'kind-up: ERROR: %s\n' "$*" >&2
  exit "${2:-1}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --name)
      [ $# -ge 2 ] || die "--name needs a value" 2
      name="$2"
      shift 2
      ;;
    --kwok-nodes)
      [ $# -ge 2 ] && [[ "$2" =~ ^[0-9]+$ ]] || die "--kwok-nodes needs a number" 2
      kwok_nodes="$2"
      shift 2
      ;;
    *) die "unknown argument '$1' (usage: $0 [--name NAME] [--kwok-nodes N])" 2 ;;
  esac
done

# shellcheck source=kind-state.sh
source "$repo/hack/kind-state.sh"
mkdir -p "$state"
started=$SECONDS

if [ -n "${KIND_NODE_IMAGE:-}" ]; then
  image="$KIND_NODE_IMAGE"
  kind="$(command -v kind)" || die "KIND_NODE_IMAGE is set but 'kind' is not on PATH"
  "$repo/hack/kind-node-image.sh" --host
else
  cache="$("$repo/hack/kind-node-image.sh")" || die "hack/kind-node-image.sh failed"
  image="$(cat "$cache/node-image")"
  kind="$cache/bin/kind"
fi
echo "$kind" >"$state/kind"
bins="$("$repo/hack/kube-bins.sh")" || die "hack/kube-bins.sh failed"
kubectl=("$bins/kubectl" --kubeconfig "$kubeconfig")

if "$kind" get clusters 2>/dev/null | grep -qx "$name"; then
  log "cluster $name exists; reusing it"
  "$kind" export kubeconfig --name "$name" --kubeconfig "$kubeconfig" >&2
else
  log "kind create cluster --config kind-config.yaml --image $image --name $name --wait 120s"
  "$kind" create cluster --config "$repo/kind-config.yaml" --image "$image" --name "$name" \
    --kubeconfig "$kubeconfig" --wait 120s >&2 || die "kind create cluster failed"
fi
log "waiting for CoreDNS"
"${kubectl[@]}" -n kube-system rollout status deployment/coredns --timeout=180s >&2 ||
  die "CoreDNS did not become ready (kubectl -n kube-system get pods)"

if [ -z "${KIND_NODE_IMAGE:-}" ]; then
  # The offline node image's static CNI enforces no NetworkPolicy (kind's kindnetd, which does,
  # cannot be built here): kube-router's network policy controller does, as a DaemonSet.
  netpol_started=$SECONDS
  netpol_image="$("$repo/hack/kind-netpol.sh")" || die "hack/kind-netpol.sh failed"
  log "kind load docker-image $netpol_image (the NetworkPolicy enforcer)"
  "$kind" load docker-image "$netpol_image" --name "$name" >&2 || die "kind load docker-image $netpol_image failed"
  "$repo/hack/kind-netpol.sh" --manifest | "${kubectl[@]}" apply -f - >&2 ||
    die "cannot apply the NetworkPolicy enforcer's manifest"
  "${kubectl[@]}" -n kube-system rollout status daemonset/kind-netpol --timeout=180s >&2 ||
    die "the NetworkPolicy enforcer did not become ready (kubectl -n kube-system logs ds/kind-netpol)"
  log "NetworkPolicy enforcer ready in $((SECONDS - netpol_started)) s"
fi

if [ "$kwok_nodes" -gt 0 ]; then
  if [ -f "$state/kwok.pid" ] && kill -0 "$(cat "$state/kwok.pid")" 2>/dev/null; then
    log "kwok controller already running (pid $(cat "$state/kwok.pid"))"
  else
    log "starting the kwok controller (log: $state/kwok.log)"
    nohup "$bins/kwok" --kubeconfig "$kubeconfig" \
      --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
      --node-lease-duration-seconds=40 >"$state/kwok.log" 2>&1 &
    echo $! >"$state/kwok.pid"
  fi
  py="$repo/.venv/bin/python"
  [ -x "$py" ] || py=python3
  log "adding $kwok_nodes kwok fake nodes"
  PYTHONPATH="$repo" "$py" -c '
import json, sys
from testkit.builders import node, taint
count = int(sys.argv[1])
fake = taint("kwok.x-k8s.io/node", "fake", "NoSchedule")
print(json.dumps({"apiVersion": "v1", "kind": "List",
                  "items": [node(f"kwok-node-{i}", taints=[fake]) for i in range(count)]}))
' "$kwok_nodes" | "${kubectl[@]}" apply -f - >&2 || die "cannot create the kwok nodes"
  "${kubectl[@]}" wait --for=condition=Ready node -l type=kwok --timeout=120s >&2 ||
    die "the kwok nodes did not become Ready; see $state/kwok.log"
fi
log "cluster $name ready in $((SECONDS - started)) s"
echo "$kubeconfig"
