# Sourced after hack/kind-up.sh (README "In a kind cluster"): makes `kind`, `kubectl` and `helm`
# callable, yours when they are on PATH, else the ones this project built and cached (the cached
# kind of hack/kind-node-image.sh, kubectl and helm of hack/kube-bins.sh), and names the cluster for
# kind's own commands (`kind load ...`): KIND_CLUSTER_NAME, default scheduler-ext (kind-config.yaml's).
# shellcheck shell=bash
_kind_env_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export KIND_CLUSTER_NAME="${KIND_CLUSTER_NAME:-scheduler-ext}"
if ! command -v kind >/dev/null 2>&1; then
  if _kind_env_dir="$("$_kind_env_repo/hack/kind-node-image.sh" --check 2>/dev/null)"; then
    PATH="$_kind_env_dir/bin:$PATH"
  fi
fi
if ! command -v kubectl >/dev/null 2>&1 || ! command -v helm >/dev/null 2>&1; then
  if _kind_env_dir="$("$_kind_env_repo/hack/kube-bins.sh" --check 2>/dev/null)"; then
    PATH="$PATH:$_kind_env_dir"
  fi
fi
export PATH
unset _kind_env_repo _kind_env_dir
for _kind_env_tool in kind kubectl helm; do
  command -v "$_kind_env_tool" >/dev/null 2>&1 ||
    printf 'kind-env: %s is not on PATH (install it, or build the caches: hack/kind-up.sh)\n' "$_kind_env_tool" >&2
done
unset _kind_env_tool
