#!/usr/bin/env bash
# Builds (once) a kind node image on a machine that can pull no container image, and prepares the
# Docker engine so that kind's privileged node container can run there. docs/kind.md says why each
# step exists; ../shared/docs/kind-offline.md is the recipe it follows. Real users do not need this:
# `kind create cluster` pulls the public node image.
#
# Every piece comes from the Go module proxy or Debian packages, pinned in hack/versions.env:
#   kind                                        go install sigs.k8s.io/kind
#   kubelet kubeadm kube-proxy                  hack/kube-bins.sh --node
#   kube-apiserver/-controller-manager/-scheduler, kubectl, etcd   hack/kube-bins.sh (the harness's)
#   containerd ctr containerd-shim-runc-v2, runc (cgo, libseccomp), CNI plugins, crictl, coredns,
#   local-path-provisioner                      Go modules
#   pause                                       Kubernetes' pause.c, compiled statically
#   base image                                  debootstrap + kind's images/base files (kind's module)
#   images kubeadm and kind expect              `docker import`/`commit`, tagged as they expect
#   node image                                  kind's `build node-image` steps, by hand
# into a cache outside the repository, keyed by those versions and $KIND_NODE_RECIPE:
#   ${KIND_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scheduler-ext/kind}/<key>/
#     bin/        the binaries above          node-image.tar   the node image, `docker save`d
#     node-image  the node image's tag        .complete        written last
# A warm run finds the image in the engine, or `docker load`s node-image.tar, and builds nothing.
#
# The host side (idempotent, each only when missing): dockerd started when no engine answers; a runc
# wrapper that drops CAP_SYS_RESOURCE (absent from this VM's bounding set, requested by --privileged)
# installed and registered as the engine's default runtime in /etc/docker/daemon.json, then the
# engine reloaded (SIGHUP: runtimes are reloadable, running containers are not touched).
#
# On stdout it prints the cache directory, and only that; progress and step times go to stderr.
# Usage: hack/kind-node-image.sh            build if needed, load the image, prepare the host
#        hack/kind-node-image.sh --check    print the directory if complete, else exit 1 (no build)
#        hack/kind-node-image.sh --key      print the cache key
#        hack/kind-node-image.sh --host     only prepare the host (dockerd, runc wrapper)
set -eEuo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=lib/go-build.sh
source "$here/lib/go-build.sh"

log() { printf 'kind-node-image: %s\n' "$*" >&2; }
die() {
  printf 'kind-node-image: ERROR: %s\n' "$*" >&2
  exit 1
}

go_require "the node image"
command -v docker >/dev/null 2>&1 || die "'docker' is not on PATH (Debian: apt-get install docker.io)"

goarch="$(go env GOARCH)"
key="kind-${KIND_VERSION}_k8s-${KUBE_VERSION}_containerd-${CONTAINERD_VERSION}_runc-${RUNC_VERSION}"
key+="_cni-${CNI_PLUGINS_VERSION}_coredns-${COREDNS_VERSION}_${KIND_DEBIAN_SUITE}-${goarch}_r${KIND_NODE_RECIPE}"
base="${KIND_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scheduler-ext/kind}"
dest="$base/$key"
node_tag="scheduler-ext/kind-node:${KUBE_VERSION}-r${KIND_NODE_RECIPE}"
base_tag="scheduler-ext/kind-base:${KIND_VERSION}-r${KIND_NODE_RECIPE}"
wrapper=/usr/local/sbin/runc-no-sys-resource
wrapper_runtime=runc-no-sys-resource
started=$SECONDS

# Steps run as `if ! have; then timed step; fi`, never `have || timed step`: a function called in a
# || list runs without errexit and its failures would pass unnoticed.
# Any failing command stops the build with its line and text (functions included: set -E).
trap 'die "${what:+$what: }line $LINENO: command failed: $BASH_COMMAND"' ERR

timed() {
  # timed "<step>" cmd args...: runs a step (a command or a function of this script, which then runs
  # under errexit as well), logs how long it took.
  local what="$1" t0=$SECONDS
  shift
  log "$what ..."
  "$@" >&2
  log "$what: done in $((SECONDS - t0)) s"
}

complete() { [ -f "$1/.complete" ] && [ -f "$1/node-image.tar" ] && [ -x "$1/bin/kind" ]; }

# --- host: the engine and the runc wrapper -------------------------------------------------------
engine_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start_engine() {
  engine_up && return 0
  [ "$(id -u)" = 0 ] || die "no Docker engine answers and only root can start one"
  command -v dockerd >/dev/null 2>&1 || die "no Docker engine answers and 'dockerd' is missing (apt-get install docker.io)"
  mkdir -p "$base"
  log "starting dockerd (log: $base/dockerd.log)"
  nohup dockerd >"$base/dockerd.log" 2>&1 &
  local i
  for i in $(seq 1 60); do
    engine_up && return 0
    sleep 1
  done
  die "dockerd did not answer within 60 s; see $base/dockerd.log"
}

real_runc() {
  # The runc the engine used before the wrapper: the first runc on PATH that is not the wrapper.
  local r
  for r in /usr/sbin/runc /usr/bin/runc /usr/local/sbin/runc /usr/local/bin/runc; do
    [ -x "$r" ] && [ "$r" != "$wrapper" ] && echo "$r" && return 0
  done
  return 1
}

write_wrapper() {
  local runc="$1"
  cat <<EOF
#!/bin/sh
# Installed by scheduler-ext's hack/kind-node-image.sh: runs $runc with CAP_SYS_RESOURCE removed from
# the container's (create/run) or the exec'd process's (exec --process) capability sets, because this
# VM's capability bounding set lacks it and \`docker run --privileged\` (what kind does) asks for all.
drop='walk(if type == "object" and has("bounding") then with_entries(.value |= (if type == "array" then map(select(. != "CAP_SYS_RESOURCE")) else . end)) else . end)'
edit() { [ -f "\$1" ] || return 0; jq -c "\$drop" "\$1" >"\$1.nosysres" && mv "\$1.nosysres" "\$1"; }
cmd= bundle=. process= prev=
for a in "\$@"; do
  case "\$prev" in
    --bundle | -b) bundle="\$a" ;;
    --process | -p) process="\$a" ;;
  esac
  case "\$a" in
    --bundle=*) bundle="\${a#--bundle=}" ;;
    --process=*) process="\${a#--process=}" ;;
    create | run | exec) [ -z "\$cmd" ] && cmd="\$a" ;;
  esac
  prev="\$a"
done
case "\$cmd" in
  create | run) edit "\$bundle/config.json" ;;
  exec) [ -n "\$process" ] && edit "\$process" ;;
esac
exec $runc "\$@"
EOF
}

install_wrapper() {
  local runc
  command -v jq >/dev/null 2>&1 || die "'jq' is needed by the runc wrapper (apt-get install jq)"
  runc="$(real_runc)" || die "no runc found to wrap (apt-get install runc)"
  if [ -x "$wrapper" ] && [ "$(cat "$wrapper")" = "$(write_wrapper "$runc")" ]; then
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "installing $wrapper needs root"
  log "installing the runc wrapper $wrapper (wraps $runc)"
  write_wrapper "$runc" >"$wrapper.tmp"
  chmod 0755 "$wrapper.tmp"
  mv "$wrapper.tmp" "$wrapper"
}

register_runtime() {
  local cfg=/etc/docker/daemon.json current pid i
  current="$(docker info --format '{{.DefaultRuntime}}' 2>/dev/null || true)"
  [ "$current" = "$wrapper_runtime" ] && return 0
  [ "$(id -u)" = 0 ] || die "registering the runc wrapper in $cfg needs root"
  mkdir -p /etc/docker
  [ -s "$cfg" ] || echo '{}' >"$cfg"
  log "registering $wrapper_runtime as the default runtime in $cfg (was: ${current:-unknown})"
  jq --arg name "$wrapper_runtime" --arg path "$wrapper" \
    '.runtimes[$name] = {path: $path} | ."default-runtime" = $name' "$cfg" >"$cfg.tmp"
  mv "$cfg.tmp" "$cfg"
  pid="$(pgrep -x dockerd | head -n1 || true)"
  [ -n "$pid" ] || die "dockerd's process is not found; restart the engine to read $cfg"
  kill -HUP "$pid"
  for i in $(seq 1 30); do
    [ "$(docker info --format '{{.DefaultRuntime}}' 2>/dev/null || true)" = "$wrapper_runtime" ] && return 0
    sleep 1
  done
  die "the engine did not take $wrapper_runtime as its default runtime after reloading $cfg"
}

prepare_host() {
  start_engine
  install_wrapper
  register_runtime
}

case "${1:-}" in
  --key | --check) cache_query "$1" ;;
  --host)
    prepare_host
    exit 0
    ;;
  "") ;;
  *) die "unknown argument '$1' (usage: $0 [--check|--key|--host])" ;;
esac

prepare_host

load_image() {
  # The node image in the engine: present, or `docker load`ed from the cache.
  if docker image inspect "$node_tag" >/dev/null 2>&1; then
    log "node image $node_tag present in the engine"
    return 0
  fi
  timed "docker load $dest/node-image.tar" docker load -i "$dest/node-image.tar"
}

if complete "$dest"; then
  load_image
  log "warm run: $((SECONDS - started)) s"
  echo "$dest"
  exit 0
fi

cache_lock "$base"
if complete "$dest"; then
  load_image
  echo "$dest"
  exit 0
fi

# The build happens in $dest itself, step by step: each step's output is kept, so an interrupted build
# resumes where it stopped; .complete is written last.
mkdir -p "$dest/bin" "$dest/images" "$dest/src"
bin="$dest/bin"
src="$dest/src"
go_env

goinstall() {
  # goinstall CGO TAGS PKG@VERSION...: go install into $bin.
  local cgo="$1" tags="$2"
  shift 2
  go_install_to "$bin" "$cgo" -tags "$tags" "$@"
}

module_dir() {
  # module_dir MODULE@VERSION: the module's source directory in the Go module cache (downloads it).
  go mod download -json "$1" | jq -r .Dir
}

build_go_pieces() {
  if [ ! -x "$bin/kind" ]; then timed "kind $KIND_VERSION" goinstall 0 "" "sigs.k8s.io/kind@$KIND_VERSION"; fi
  if [ ! -x "$bin/containerd-shim-runc-v2" ]; then
    timed "containerd $CONTAINERD_VERSION (containerd, ctr, shim)" goinstall 0 "no_aufs no_zfs no_btrfs no_devmapper" \
      "github.com/containerd/containerd/v2/cmd/containerd@$CONTAINERD_VERSION" \
      "github.com/containerd/containerd/v2/cmd/ctr@$CONTAINERD_VERSION" \
      "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION"
  fi
  if [ ! -x "$bin/runc" ]; then
    if [ ! -f /usr/include/seccomp.h ]; then
      timed "apt-get install libseccomp-dev (runc's seccomp)" \
        env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libseccomp-dev
    fi
    timed "runc $RUNC_VERSION (cgo, seccomp)" env GOBIN="$bin" CGO_ENABLED=1 GOFLAGS=-buildvcs=false go install -trimpath -tags seccomp \
      -ldflags "-s -w -X main.version=${RUNC_VERSION#v}" "github.com/opencontainers/runc@$RUNC_VERSION"
  fi
  if [ ! -x "$bin/cni/portmap" ]; then
    local p="github.com/containernetworking/plugins/plugins"
    timed "CNI plugins $CNI_PLUGINS_VERSION (ptp host-local portmap loopback)" go_install_to "$bin/cni" 0 \
      "$p/main/ptp@$CNI_PLUGINS_VERSION" "$p/ipam/host-local@$CNI_PLUGINS_VERSION" \
      "$p/meta/portmap@$CNI_PLUGINS_VERSION" "$p/main/loopback@$CNI_PLUGINS_VERSION"
  fi
  if [ ! -x "$bin/crictl" ]; then
    # `go install sigs.k8s.io/cri-tools/cmd/crictl@...` is refused by the proxy (its version list);
    # the module itself downloads (without its vendor directory): build in a writable copy of it.
    local dir
    dir="$(module_dir "sigs.k8s.io/cri-tools@$CRICTL_VERSION")" || die "cannot download sigs.k8s.io/cri-tools@$CRICTL_VERSION"
    rm -rf "$src/cri-tools"
    cp -r "$dir" "$src/cri-tools"
    chmod -R u+w "$src/cri-tools"
    timed "crictl $CRICTL_VERSION (from a copy of the module)" env -C "$src/cri-tools" CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
      go build -trimpath -mod=mod -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" \
      -o "$bin/crictl" ./cmd/crictl
  fi
  if [ ! -x "$bin/coredns" ]; then
    timed "coredns $COREDNS_VERSION" goinstall 0 "" "github.com/coredns/coredns@$COREDNS_VERSION"
  fi
  if [ ! -x "$bin/local-path-provisioner" ]; then
    timed "local-path-provisioner $LOCAL_PATH_PROVISIONER_VERSION" \
      goinstall 0 "" "github.com/rancher/local-path-provisioner@$LOCAL_PATH_PROVISIONER_VERSION"
  fi
  if [ ! -x "$bin/pause" ]; then
    local kdir
    kdir="$(module_dir "k8s.io/kubernetes@$KUBE_VERSION")" || die "cannot download k8s.io/kubernetes@$KUBE_VERSION"
    timed "pause (Kubernetes' pause.c, static)" gcc -Os -static -Wall -DVERSION=scheduler-ext \
      -o "$bin/pause" "$kdir/build/pause/linux/pause.c"
  fi
  local d
  d="$("$here/kube-bins.sh" --node)" || die "hack/kube-bins.sh --node failed"
  cp -f "$d"/kubelet "$d"/kubeadm "$d"/kube-proxy "$bin/"
  d="$("$here/kube-bins.sh")" || die "hack/kube-bins.sh failed"
  cp -f "$d"/kube-apiserver "$d"/kube-controller-manager "$d"/kube-scheduler "$d"/kubectl "$d"/etcd "$bin/"
}

kind_dir() { module_dir "sigs.k8s.io/kind@$KIND_VERSION"; }

storage_const() {
  # storage_const NAME: a string constant of kind's storage add-on (an image name).
  sed -n "s/^const $1 = \"\(.*\)\"/\1/p" "$(kind_dir)/pkg/build/nodeimage/const_storage.go"
}

storage_manifest() {
  # kind's own storage manifest (a Go raw string in its source), with the image constants filled in.
  awk '/^const defaultStorageManifest = `/{on=1; next} on && /^`/{exit} on' \
    "$(kind_dir)/pkg/build/nodeimage/const_storage.go" |
    sed -e "s#\` + storageProvisionerImage + \`#$(storage_const storageProvisionerImage)#" \
      -e "s#\` + storageHelperImage + \`#$(storage_const storageHelperImage)#"
}

# --- the base image: kind's images/base, from debootstrap instead of a pulled Debian image ---------
BASE_PACKAGES=systemd,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod,libseccomp2,pigz
BASE_PACKAGES+=,fuse-overlayfs,e2fsprogs,bash,ca-certificates,curl,jq,procps

build_rootfs() {
  local root="$src/rootfs"
  if ! command -v debootstrap >/dev/null 2>&1; then
    timed "apt-get install debootstrap" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
  fi
  rm -rf "$root"
  mkdir -p "$root"
  timed "debootstrap $KIND_DEBIAN_SUITE (minbase + kind's packages)" \
    debootstrap --variant=minbase --include="$BASE_PACKAGES" "$KIND_DEBIAN_SUITE" "$root"
  local files
  files="$(kind_dir)/images/base/files"
  # kind's images/base Dockerfile, its COPY and RUN steps, done in the chroot.
  cp -r "$files/usr/local/bin/." "$root/usr/local/bin/"
  cp -r "$files/kind" "$root/kind"
  mkdir -p "$root/LICENSES" "$root/etc/containerd" "$root/etc/sysctl.d" "$root/etc/systemd/system"
  cp -r "$files/LICENSES/." "$root/LICENSES/"
  cp "$files/etc/crictl.yaml" "$root/etc/"
  cp -r "$files/etc/containerd/." "$root/etc/containerd/"
  cp -r "$files/etc/default/." "$root/etc/default/"
  cp -r "$files/etc/sysctl.d/." "$root/etc/sysctl.d/"
  cp -r "$files/etc/systemd/system/." "$root/etc/systemd/system/"
  chmod -R u+w,go-w "$root/kind" "$root/etc/containerd" "$root/etc/systemd/system" "$root/usr/local/bin"
  chmod 0755 "$root/usr/local/bin/"* "$root/kind" "$root/kind/bin" "$root/kind/bin/"*
  find "$root/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
  rm -f "$root"/lib/systemd/system/multi-user.target.wants/* "$root"/etc/systemd/system/*.wants/* \
    "$root"/lib/systemd/system/local-fs.target.wants/* "$root"/lib/systemd/system/sockets.target.wants/*udev* \
    "$root"/lib/systemd/system/sockets.target.wants/*initctl* "$root"/lib/systemd/system/basic.target.wants/*
  echo "ReadKMsg=no" >>"$root/etc/systemd/journald.conf"
  ln -sf /usr/lib/systemd/systemd "$root/sbin/init"
  chroot "$root" systemctl enable kubelet.service containerd.service undo-mount-hacks.service >&2
  chroot "$root" systemctl mask systemd-binfmt.service >&2
  mkdir -p "$root/etc/kubernetes/manifests"
  # The runtime pieces (the Dockerfile's build stages).
  cp "$bin/containerd" "$bin/ctr" "$bin/containerd-shim-runc-v2" "$bin/crictl" "$root/usr/local/bin/"
  cp "$bin/runc" "$root/usr/local/sbin/runc"
  mkdir -p "$root/opt/cni/bin"
  cp "$bin/cni/"* "$root/opt/cni/bin/"
  "$bin/ctr" oci spec |
    jq '.hooks.createContainer[.hooks.createContainer | length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' |
    jq 'del(.process.rlimits)' >"$root/etc/containerd/cri-base.json"
  # This machine's fixes (kind-offline.md, blockers 2-4).
  sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' "$root/etc/containerd/config.toml"
  grep -q 'restrict_oom_score_adj = true' "$root/etc/containerd/config.toml" ||
    die "kind's containerd config has no restrict_oom_score_adj line to set"
  sed -i 's/^KUBELET_EXTRA_ARGS=\(.*\)$/KUBELET_EXTRA_ARGS=\1 --fail-cgroupv1=false/' "$root/etc/default/kubelet"
  mkdir -p "$root/etc/cni/net.d"
  cat >"$root/etc/cni/net.d/10-static.conflist" <<'EOF'
{
  "cniVersion": "0.4.0",
  "name": "kind-static",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": true,
      "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]},
      "mtu": 1500
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
}

import_base() {
  # kind's base also sets STOPSIGNAL SIGRTMIN+3 (systemd's), which `docker import` cannot; kind deletes
  # its nodes with `docker rm -f`, which does not use it.
  timed "docker import the base ($base_tag)" sh -c "tar -C '$src/rootfs' --numeric-owner -c . | docker import \
    --change 'ENV container=docker' --change 'ENTRYPOINT [\"/usr/local/bin/entrypoint\", \"/sbin/init\"]' - '$base_tag'"
}

# --- the images kubeadm and kind expect -----------------------------------------------------------
scratch_image() {
  # scratch_image TAG BINARY ENTRYPOINT-JSON: a one-binary image (what `FROM scratch` + COPY gives).
  local tag="$1" binary="$2" entrypoint="$3" dir
  dir="$(mktemp -d "$src/img.XXXXXX")"
  mkdir -p "$dir/usr/local/bin" "$dir/tmp" "$dir/etc"
  chmod 1777 "$dir/tmp"
  cp "$binary" "$dir/usr/local/bin/"
  echo 'nobody:x:65534:65534:nobody:/:/sbin/nologin' >"$dir/etc/passwd"
  tar -C "$dir" --numeric-owner --owner=0 --group=0 -c . |
    docker import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' --change "ENTRYPOINT $entrypoint" - "$tag" >&2
  rm -rf "$dir"
}

base_plus_image() {
  # base_plus_image TAG BINARY ENTRYPOINT-JSON: the base image plus one binary (for kube-proxy, which
  # needs iptables and conntrack from a distribution).
  local tag="$1" binary="$2" entrypoint="$3" cid
  cid="$(docker create --entrypoint /bin/true "$base_tag")"
  docker cp "$binary" "$cid:/usr/local/bin/"
  docker commit --change "ENTRYPOINT $entrypoint" "$cid" "$tag" >&2
  docker rm "$cid" >/dev/null
}

build_images() {
  local images=() image name
  mapfile -t images < <("$bin/kubeadm" config images list --kubernetes-version "$KUBE_VERSION")
  [ "${#images[@]}" -ge 5 ] || die "kubeadm config images list gave ${#images[@]} images: ${images[*]}"
  # kind runs the sandbox image its containerd config names, and its storage add-on's two images.
  images+=("$(sed -n 's/^[[:space:]]*sandbox_image = "\(.*\)"/\1/p' "$src/rootfs/etc/containerd/config.toml")")
  images+=("$(storage_const storageProvisionerImage)" "$(storage_const storageHelperImage)")
  : >"$dest/images/list"
  for image in "${images[@]}"; do
    [ -n "$image" ] || die "an expected image name is empty (kind's sources changed?): ${images[*]}"
    name="${image%:*}"
    name="${name##*/}"
    case "$name" in
      kube-apiserver | kube-controller-manager | kube-scheduler | etcd)
        scratch_image "$image" "$bin/$name" "[\"/usr/local/bin/$name\"]"
        ;;
      kube-proxy) base_plus_image "$image" "$bin/kube-proxy" '["/usr/local/bin/kube-proxy"]' ;;
      coredns) scratch_image "$image" "$bin/coredns" '["/usr/local/bin/coredns"]' ;;
      pause) scratch_image "$image" "$bin/pause" '["/usr/local/bin/pause"]' ;;
      local-path-provisioner)
        scratch_image "$image" "$bin/local-path-provisioner" '["/usr/local/bin/local-path-provisioner"]'
        ;;
      local-path-helper) docker tag "$base_tag" "$image" ;;
      *) die "no recipe for the image $image" ;;
    esac
    echo "$image" >>"$dest/images/list"
  done
  # One archive: layers shared between images (the base's) are stored once.
  mapfile -t images <"$dest/images/list"
  timed "docker save ${#images[@]} images" docker save -o "$dest/images/all.tar" "${images[@]}"
}

# --- the node image: kind's `build node-image` steps -----------------------------------------------
build_node() {
  local cid
  cid="kind-node-build-$$"
  docker rm -f "$cid" >/dev/null 2>&1 || true
  docker run -d --name "$cid" --entrypoint=sleep --security-opt seccomp=unconfined "$base_tag" infinity >/dev/null
  # shellcheck disable=SC2064  # expand now: the container's name is fixed
  trap "docker rm -f '$cid' >/dev/null 2>&1 || true" EXIT
  local b
  for b in kubeadm kubelet kubectl; do
    docker cp "$bin/$b" "$cid:/usr/bin/$b"
  done
  docker exec "$cid" sh -c "echo -n '$KUBE_VERSION' >/kind/version && mkdir -p /kind/manifests"
  # No kindnetd (its nested module is not served): the static CNI config in the base, and in its
  # place a manifest kind can apply that only says so.
  docker exec -i "$cid" cp /dev/stdin /kind/manifests/default-cni.yaml <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: static-cni
  namespace: kube-system
data:
  note: "This node image has no kindnetd: /etc/cni/net.d/10-static.conflist (ptp, host-local 10.244.0.0/24, portmap). Single node only."
EOF
  # kind's own storage manifest, taken from its source.
  storage_manifest | docker exec -i "$cid" cp /dev/stdin /kind/manifests/default-storage.yaml
  docker exec "$cid" sh -c 'nohup containerd >/tmp/containerd.log 2>&1 &'
  docker exec "$cid" sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do [ -S /run/containerd/containerd.sock ] && break; sleep 1; done; ctr version >/dev/null'
  timed "ctr images import (into the node's containerd)" docker exec -i "$cid" ctr --namespace=k8s.io images import \
    --label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests - <"$dest/images/all.tar"
  docker exec "$cid" ctr --namespace=k8s.io images list -q >&2
  docker exec "$cid" pkill containerd
  sleep 1
  timed "docker commit the node image ($node_tag)" docker commit \
    --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' \
    --change 'ENV HTTP_PROXY="" HTTPS_PROXY="" NO_PROXY=""' "$cid" "$node_tag"
  docker rm -f "$cid" >/dev/null
  trap - EXIT
}

# Each step is skipped when its output is there (a resumed build).
if [ ! -x "$bin/etcd" ]; then timed "binaries" build_go_pieces; fi
if [ ! -f "$src/rootfs/etc/cni/net.d/10-static.conflist" ]; then timed "base rootfs" build_rootfs; fi
if ! docker image inspect "$base_tag" >/dev/null 2>&1; then import_base; fi
if [ ! -f "$dest/images/all.tar" ]; then timed "images kubeadm and kind expect" build_images; fi
if ! docker image inspect "$node_tag" >/dev/null 2>&1; then timed "node image" build_node; fi
timed "docker save the node image" docker save -o "$dest/node-image.tar" "$node_tag"
echo "$node_tag" >"$dest/node-image"
# Keep the binaries and the saved image; the sources and intermediate archives can be rebuilt.
rm -rf "$src" "$dest/images/all.tar"
{
  echo "NODE_IMAGE=$node_tag"
  echo "KIND_VERSION=$KIND_VERSION"
  echo "KUBE_VERSION=$KUBE_VERSION"
  echo "BUILD_SECONDS=$((SECONDS - started))"
} >"$dest/.complete"
log "cold build: $((SECONDS - started)) s into $dest"
echo "$dest"
