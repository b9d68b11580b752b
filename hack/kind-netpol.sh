#!/usr/bin/env bash
# Builds (once) the image of the offline kind cluster's NetworkPolicy enforcer: kube-router's network
# policy controller alone (--run-firewall, no router, no service proxy), which programs iptables and
# ipset on the node beside any CNI. hack/kind-up.sh loads it with `kind load docker-image` and runs it
# as the DaemonSet of hack/lib/kind-netpol.yaml. Why this one and nothing else: docs/kind.md (kind's
# kindnetd cannot be built here; kube-network-policies needs the nftables `queue` statement, which
# this kernel lacks). Test-cluster infrastructure only: never part of the product's image or chart.
#
# The pieces, pinned in hack/versions.env:
#   kube-router     go install github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION
#   userland        debootstrap --variant=minbase $KIND_DEBIAN_SUITE with iptables and ipset (the
#                   binaries kube-router runs), trimmed, plus the entrypoint below
# into a cache outside the repository, keyed by those and $KIND_NETPOL_RECIPE:
#   ${KIND_NETPOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scheduler-ext/kind-netpol}/<key>/
#     bin/kube-router     rootfs.tar (what `docker import` takes)     .complete (written last)
# A warm run finds the image in the engine, or `docker import`s rootfs.tar, and builds nothing.
#
# On stdout it prints the image's tag (or, with --manifest, the manifest), and only that; progress
# goes to stderr. It expects a Docker engine that answers (hack/kind-node-image.sh starts one).
# Usage: hack/kind-netpol.sh             build if needed, the image in the engine; prints its tag
#        hack/kind-netpol.sh --manifest  the DaemonSet and its RBAC for that image (kubectl apply -f -)
#        hack/kind-netpol.sh --check     print the cache directory if complete, else exit 1
#        hack/kind-netpol.sh --key       print the cache key
set -eEuo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=lib/go-build.sh
source "$here/lib/go-build.sh"

log() { printf 'kind-netpol: %s\n' "$*" >&2; }
die() {
  printf 'kind-netpol: ERROR: %s\n' "$*" >&2
  exit 1
}
trap 'die "line $LINENO: command failed: $BASH_COMMAND"' ERR

go_require "kube-router"
goarch="$(go env GOARCH)"
key="kube-router-${KUBE_ROUTER_VERSION}_${KIND_DEBIAN_SUITE}-${goarch}_r${KIND_NETPOL_RECIPE}"
base="${KIND_NETPOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scheduler-ext/kind-netpol}"
dest="$base/$key"
tag="scheduler-ext/kind-netpol:kube-router-${KUBE_ROUTER_VERSION}-r${KIND_NETPOL_RECIPE}"
started=$SECONDS

complete() { [ -f "$1/.complete" ] && [ -f "$1/rootfs.tar" ] && [ -x "$1/bin/kube-router" ]; }

case "${1:-}" in
  --key | --check) cache_query "$1" ;;
  --manifest)
    sed "s#@IMAGE@#$tag#" "$here/lib/kind-netpol.yaml"
    exit 0
    ;;
  "") ;;
  *) die "unknown argument '$1' (usage: $0 [--manifest|--check|--key])" ;;
esac

import_image() {
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
    die "no Docker engine answers (hack/kind-node-image.sh --host starts one)"
  if docker image inspect "$tag" >/dev/null 2>&1; then
    return 0
  fi
  local t0=$SECONDS
  docker import --message "kube-router $KUBE_ROUTER_VERSION, network policy controller only" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENTRYPOINT ["/usr/local/bin/kind-netpol"]' "$dest/rootfs.tar" "$tag" >/dev/null
  log "docker import $tag: $((SECONDS - t0)) s"
}

if ! complete "$dest"; then
  cache_lock "$base"
fi
if ! complete "$dest"; then
  mkdir -p "$dest/bin"
  go_env
  if [ ! -x "$dest/bin/kube-router" ]; then
    log "go install kube-router $KUBE_ROUTER_VERSION ..."
    t0=$SECONDS
    env GOBIN="$dest/bin" CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install -trimpath \
      -ldflags "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION" \
      "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION" >&2
    log "kube-router: done in $((SECONDS - t0)) s"
  fi
  if ! command -v debootstrap >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || die "'debootstrap' is missing (apt-get install debootstrap)"
    env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2 ||
      die "apt-get install debootstrap failed"
  fi
  [ "$(id -u)" = 0 ] || die "debootstrap needs root"
  tmp="$(mktemp -d "$base/.tmp-$key.XXXXXX")"
  # shellcheck disable=SC2064  # expand now: the directory is fixed
  trap "rm -rf '$tmp'" EXIT
  log "debootstrap $KIND_DEBIAN_SUITE (minbase + iptables, ipset) ..."
  t0=$SECONDS
  debootstrap --variant=minbase --include=iptables,ipset "$KIND_DEBIAN_SUITE" "$tmp/rootfs" \
    >"$tmp/debootstrap.log" 2>&1 || die "debootstrap failed; its log: $(tail -n 5 "$tmp/debootstrap.log")"
  log "debootstrap: done in $((SECONDS - t0)) s"
  root="$tmp/rootfs"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/usr/share/info/*
  cp "$dest/bin/kube-router" "$root/usr/local/bin/kube-router"
  # The node's rules decide the iptables backend, as kind's own entrypoint decides the node's: the
  # one holding more rules (kubelet's and kube-proxy's), so that kube-router's chains sit in the same
  # tables as theirs. Then only kube-router, with the DaemonSet's arguments.
  cat >"$root/usr/local/bin/kind-netpol" <<'EOF'
#!/bin/sh
set -eu
legacy=$( (iptables-legacy-save || true) 2>/dev/null | grep -c '^-' || true)
nft=$( (timeout 5 iptables-nft-save || true) 2>/dev/null | grep -c '^-' || true)
mode=nft
[ "$legacy" -gt "$nft" ] && mode=legacy
update-alternatives --set iptables "/usr/sbin/iptables-$mode" >/dev/null
echo "kind-netpol: iptables backend $mode (the node's rules: $legacy legacy, $nft nft)"
exec /usr/local/bin/kube-router "$@"
EOF
  chmod 0755 "$root/usr/local/bin/kind-netpol"
  tar -C "$root" --numeric-owner -cf "$tmp/rootfs.tar" .
  mv -f "$tmp/rootfs.tar" "$dest/rootfs.tar"
  rm -rf "$tmp"
  trap - EXIT
  {
    echo "IMAGE=$tag"
    echo "KUBE_ROUTER_VERSION=$KUBE_ROUTER_VERSION"
    echo "BUILD_SECONDS=$((SECONDS - started))"
  } >"$dest/.complete"
  log "cold build: $((SECONDS - started)) s into $dest ($(du -h "$dest/rootfs.tar" | cut -f1) rootfs)"
fi
import_image
echo "$tag"
