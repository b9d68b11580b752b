# Sourced by hack/kind-up.sh and hack/kind-down.sh (with $name set): where a kind cluster's state lives
# on this machine, outside the repository: its kubeconfig, the kwok controller's pid and log, and the
# kind binary that created it.
# shellcheck shell=bash
state_base="${KIND_STATE:-${XDG_CACHE_HOME:-$HOME/.cache}/scheduler-ext/kind-clusters}"
state="$state_base/$name"
kubeconfig="$state/kubeconfig"
