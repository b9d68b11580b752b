#!/usr/bin/env bash
# Builds (once) the pinned control-plane binaries that the end-to-end tests run:
#   kube-apiserver kube-controller-manager kube-scheduler kubectl   (k8s.io/kubernetes, $KUBE_VERSION)
#   etcd                                                            (go.etcd.io/etcd/server/v3, $ETCD_VERSION)
#   helm                                                            (helm.sh/helm/v3, $HELM_VERSION)
#   kwok kwokctl                                                    (sigs.k8s.io/kwok, $KWOK_VERSION)
# from the Go module proxy into a per-user cache keyed by the versions (see hack/versions.env):
#   ${KUBE_BINS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scheduler-ext/kube-bins}/<key>/
# It prints that directory, and only that, on stdout; progress goes to stderr. When the directory is
# already complete it prints it and does nothing else. A build goes into a temporary directory next to
# the cache and is renamed into place atomically; concurrent runs are serialised with flock.
#
# With --node it builds instead the node binaries a kind node image needs (hack/kind-node-image.sh):
#   kubelet kubeadm kube-proxy                                      (k8s.io/kubernetes, $KUBE_VERSION)
# into a directory of their own (key node-k8s-...), the same way and with the same Go build cache.
#
# Usage: hack/kube-bins.sh [--node]            build if needed, print the directory
#        hack/kube-bins.sh [--node] --check    print the directory if complete, else exit 1 without building
#        hack/kube-bins.sh [--node] --key      print the cache key
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=lib/go-build.sh
source "$here/lib/go-build.sh"

set_name=control-plane
if [ "${1:-}" = --node ]; then
  set_name=node
  shift
fi
if [ "$set_name" = node ]; then
  kube_cmds=(kubelet kubeadm kube-proxy)
  BINARIES=("${kube_cmds[@]}")
else
  kube_cmds=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
  BINARIES=("${kube_cmds[@]}" etcd helm kwok kwokctl)
fi

log() { printf 'kube-bins: %s\n' "$*" >&2; }
die() {
  printf 'kube-bins: ERROR: %s\n' "$*" >&2
  exit 1
}

go_require "the Kubernetes binaries"

goos="$(go env GOOS)"
goarch="$(go env GOARCH)"
if [ "$set_name" = node ]; then
  key="node-k8s-${KUBE_VERSION}_${goos}-${goarch}_r${KUBE_BINS_RECIPE}"
else
  key="k8s-${KUBE_VERSION}_etcd-${ETCD_VERSION}_helm-${HELM_VERSION}_kwok-${KWOK_VERSION}_${goos}-${goarch}_r${KUBE_BINS_RECIPE}"
fi
base="${KUBE_BINS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scheduler-ext/kube-bins}"
dest="$base/$key"

complete() {
  local b
  [ -f "$1/.complete" ] || return 1
  for b in "${BINARIES[@]}"; do
    [ -x "$1/$b" ] || return 1
  done
}

case "${1:-}" in
  --key | --check) cache_query "$1" ;;
  "") ;;
  *) die "unknown argument '$1' (usage: $0 [--node] [--check|--key])" ;;
esac

if complete "$dest"; then
  echo "$dest"
  exit 0
fi

cache_lock "$base"
# Another process may have finished the same build while we waited for the lock.
if complete "$dest"; then
  echo "$dest"
  exit 0
fi
if [ -e "$dest" ]; then
  log "removing incomplete $dest"
  rm -rf "$dest"
fi

tmp="$(mktemp -d "$base/.tmp-$key.XXXXXX")"
cleanup() {
  # Module cache files are read-only; make them deletable before removing the scratch tree.
  chmod -R u+w "$tmp" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'die "interrupted"' INT TERM

out="$tmp/bin"
mkdir -p "$out"
go_env
export CGO_ENABLED=0
start=$SECONDS

step() {
  # step "<description>" cmd args...: runs a build step, turns a failure into a clear message.
  local what="$1"
  shift
  log "$what"
  if ! "$@" >&2; then
    die "$what failed (command: $*). Is the Go module proxy reachable (GOPROXY=$(go env GOPROXY))? Is there disk space in $(go env GOMODCACHE) and $(go env GOCACHE)?"
  fi
}

# --- Kubernetes -----------------------------------------------------------------------------------
# `go install k8s.io/kubernetes/cmd/...@vX` is refused (its go.mod replaces every staging module with a
# local path), so build from a throwaway wrapper module that replaces each of them with its published
# v0.X.Y, the list taken from the target's own go.mod.
kube_minor="${KUBE_VERSION#v1.}"
kube_minor="${kube_minor%%.*}"
staging_version="v0.${KUBE_VERSION#v1.}"
kmod="$tmp/kubernetes"
mkdir -p "$kmod"
cd "$kmod"
step "kubernetes $KUBE_VERSION: init wrapper module" go mod init scheduler-ext.local/kube-bins
gomod_json="$(go list -m -json "k8s.io/kubernetes@$KUBE_VERSION")" ||
  die "cannot resolve k8s.io/kubernetes@$KUBE_VERSION from the module proxy"
gomod_file="$(printf '%s\n' "$gomod_json" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
[ -f "$gomod_file" ] || die "module proxy gave no go.mod for k8s.io/kubernetes@$KUBE_VERSION"
mapfile -t staging < <(sed -E -n \
  's#^[[:space:]]*(replace[[:space:]]+)?(k8s\.io/[^[:space:]]+)[[:space:]]+=>[[:space:]]+\./staging/.*#\2#p' \
  "$gomod_file" | sort -u)
[ "${#staging[@]}" -gt 10 ] || die "found only ${#staging[@]} staging modules in $gomod_file; its format changed?"
replaces=()
for m in "${staging[@]}"; do
  replaces+=("-replace=$m=$m@$staging_version")
done
step "kubernetes $KUBE_VERSION: replace ${#staging[@]} staging modules with $staging_version" \
  go mod edit "${replaces[@]}"
pkgs=()
for c in "${kube_cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c@$KUBE_VERSION"); done
step "kubernetes $KUBE_VERSION: go get ${kube_cmds[*]} (downloads the modules)" go get "${pkgs[@]}"
ldflags="-s -w"
ldflags+=" -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION"
ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
ldflags+=" -X k8s.io/component-base/version.gitMinor=$kube_minor"
ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION"
ldflags+=" -X k8s.io/client-go/pkg/version.gitMajor=1"
ldflags+=" -X k8s.io/client-go/pkg/version.gitMinor=$kube_minor"
ldflags+=" -X k8s.io/client-go/pkg/version.gitTreeState=clean"
build_pkgs=()
for c in "${kube_cmds[@]}"; do build_pkgs+=("k8s.io/kubernetes/cmd/$c"); done
step "kubernetes $KUBE_VERSION: go build ${kube_cmds[*]} (the long part: minutes on 2 cores)" \
  go build -trimpath -ldflags "$ldflags" -o "$out/" "${build_pkgs[@]}"

# --- etcd, helm, kwok (the control-plane set only) ------------------------------------------------
if [ "$set_name" = control-plane ]; then
# go.etcd.io/etcd/server/v3 has local replaces too; in a separate wrapper module they are ignored.
emod="$tmp/etcd"
mkdir -p "$emod"
cd "$emod"
step "etcd $ETCD_VERSION: init wrapper module" go mod init scheduler-ext.local/etcd-bin
step "etcd $ETCD_VERSION: go get" go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
step "etcd $ETCD_VERSION: go build" go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3

# --- helm, kwok, kwokctl: plain go install --------------------------------------------------------
cd "$tmp"
step "helm $HELM_VERSION: go install" go_install_to "$out" 0 "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
step "kwok $KWOK_VERSION: go install kwok kwokctl" \
  go_install_to "$out" 0 "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
fi

# --- check and publish ----------------------------------------------------------------------------
for b in "${BINARIES[@]}"; do
  [ -x "$out/$b" ] || die "build finished but $b is missing from $out"
done
got="$("$out/${kube_cmds[0]}" --version 2>&1 || true)"
case "$got" in
  *"$KUBE_VERSION"*) ;;
  *) die "${kube_cmds[0]} reports '$got', expected $KUBE_VERSION" ;;
esac
if [ "$set_name" = control-plane ]; then
  got="$("$out/etcd" --version 2>&1 | head -n1 || true)"
  case "$got" in
    *"${ETCD_VERSION#v}"*) ;;
    *) die "etcd reports '$got', expected ${ETCD_VERSION#v}" ;;
  esac
fi
{
  echo "KUBE_VERSION=$KUBE_VERSION"
  echo "ETCD_VERSION=$ETCD_VERSION"
  echo "HELM_VERSION=$HELM_VERSION"
  echo "KWOK_VERSION=$KWOK_VERSION"
  echo "GO=$(go env GOVERSION)"
  echo "BUILD_SECONDS=$((SECONDS - start))"
} >"$out/.complete"
mv -T "$out" "$dest" || die "cannot move $out to $dest"
log "built ${BINARIES[*]} in $((SECONDS - start)) s into $dest"
echo "$dest"
