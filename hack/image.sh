#!/usr/bin/env bash
# Builds the project's container image (the top-level Dockerfile) on a machine that can pull no image.
#
# The Dockerfile's BASE defaults to the public python:3.11-slim; where no registry serves images, this
# script makes the base itself from Debian packages instead: `debootstrap --variant=minbase` with
# python3.11 and its venv module, packed as a rootfs tarball that is cached outside the repo, keyed by
# the suite and the recipe, and `docker import`ed when the Docker engine does not have it yet:
#   ${IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scheduler-ext/base-image}/<key>.tar
# Then `docker build --build-arg BASE=<that image>`, with the machine's CA bundle as the build secret
# `ca` (pip inside the build then trusts a TLS-intercepting proxy; nothing of it stays in the image).
#
# Docker's engine (Debian's docker.io) and debootstrap are installed with apt-get when missing and the
# script runs as root; dockerd is started in the background when no engine answers (its log goes to
# the cache directory). On stdout it prints the image's tag, and only that; progress goes to stderr.
#
# Usage: hack/image.sh              base (cached) + project image, tagged $IMAGE (scheduler-ext:dev)
#        hack/image.sh --base       the base image only; prints its tag
#        hack/image.sh --key        prints the base's cache key
# Environment: IMAGE (tag to build), BASE (use this base image instead of making one),
#              DEBIAN_SUITE (bookworm), DEBIAN_MIRROR (debootstrap's default when unset),
#              CA_BUNDLE (the build secret; default $PIP_CERT, $REQUESTS_CA_BUNDLE or the system's).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${IMAGE:-scheduler-ext:dev}"
DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
# Bump when the base's package list or trimming changes, so a new tarball is made beside the old one.
BASE_RECIPE=1
BASE_PACKAGES=python3.11,python3.11-venv,python3-venv,ca-certificates
key="debian-${DEBIAN_SUITE}-python3.11-r${BASE_RECIPE}"
cache="${IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scheduler-ext/base-image}"
base_tag="scheduler-ext-base:${key}"

log() { printf 'image: %s\n' "$*" >&2; }
die() {
  printf 'image: ERROR: %s\n' "$*" >&2
  exit 1
}

case "${1:-}" in
  --key)
    echo "$key"
    exit 0
    ;;
  --base | "") ;;
  *) die "unknown argument '$1' (usage: $0 [--base|--key])" ;;
esac

need_package() {
  # need_package COMMAND DEBIAN-PACKAGE: installs the package when the command is missing.
  command -v "$1" >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 ||
    die "'$1' is missing: install the Debian package $2 (or run this script as root to have it installed)"
  log "installing $2 (for $1)"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2; then
    apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2 || die "apt-get install $2 failed"
  fi
}

engine_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

builder_client() {
  # A client that can build with BuildKit (needed for the build secret): one with the buildx plugin,
  # or a client older than 23, whose built-in BuildKit needs none (Debian's docker.io, /usr/bin).
  local client major
  for client in docker /usr/bin/docker; do
    command -v "$client" >/dev/null 2>&1 || continue
    if "$client" buildx version >/dev/null 2>&1; then
      echo "$client"
      return 0
    fi
    major="$("$client" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1)"
    if [ -n "$major" ] && [ "$major" -lt 23 ] 2>/dev/null; then
      echo "$client"
      return 0
    fi
  done
  return 1
}

ensure_engine() {
  need_package docker docker.io
  engine_up && return 0
  need_package dockerd docker.io
  [ "$(id -u)" = 0 ] || die "no Docker engine answers, and only root can start dockerd"
  mkdir -p "$cache"
  log "starting dockerd (log: $cache/dockerd.log)"
  nohup dockerd </dev/null >>"$cache/dockerd.log" 2>&1 &
  local i
  for i in $(seq 1 60); do
    engine_up && return 0
    sleep 0.5
  done
  die "dockerd did not answer within 30 s; see $cache/dockerd.log"
}

make_base_tarball() {
  # Writes "$cache/$key.tar" atomically: a Debian minbase rootfs with Python, trimmed.
  need_package debootstrap debootstrap
  [ "$(id -u)" = 0 ] || die "debootstrap needs root to make the base image"
  mkdir -p "$cache"
  local tmp
  tmp="$(mktemp -d "$cache/.tmp-$key.XXXXXX")"
  # shellcheck disable=SC2064  # expand now: $tmp is local
  trap "rm -rf '$tmp'" EXIT
  log "debootstrap $DEBIAN_SUITE with $BASE_PACKAGES (network-bound: 4 minutes here, once per recipe)"
  local started=$SECONDS
  # shellcheck disable=SC2086  # DEBIAN_MIRROR is optional: unset means debootstrap's default
  debootstrap --variant=minbase --include="$BASE_PACKAGES" "$DEBIAN_SUITE" "$tmp/rootfs" \
    ${DEBIAN_MIRROR:-} >"$tmp/debootstrap.log" 2>&1 ||
    die "debootstrap failed; its log: $(tail -n 5 "$tmp/debootstrap.log")"
  rm -rf "$tmp/rootfs"/var/cache/apt/archives/*.deb "$tmp/rootfs"/var/lib/apt/lists/* \
    "$tmp/rootfs"/usr/share/doc/* "$tmp/rootfs"/usr/share/man/* "$tmp/rootfs"/usr/share/locale/*
  tar -C "$tmp/rootfs" --numeric-owner -cf "$tmp/base.tar" .
  mv -f "$tmp/base.tar" "$cache/$key.tar"
  rm -rf "$tmp"
  trap - EXIT
  log "base rootfs made in $((SECONDS - started)) s: $cache/$key.tar ($(du -h "$cache/$key.tar" | cut -f1))"
}

ensure_base() {
  if [ -n "${BASE:-}" ]; then
    echo "$BASE"
    return 0
  fi
  if docker image inspect "$base_tag" >/dev/null 2>&1; then
    echo "$base_tag"
    return 0
  fi
  mkdir -p "$cache"
  exec 9>"$cache/.lock"
  command -v flock >/dev/null 2>&1 && flock 9
  if ! docker image inspect "$base_tag" >/dev/null 2>&1; then
    [ -f "$cache/$key.tar" ] || make_base_tarball
    log "docker import $cache/$key.tar as $base_tag"
    docker import --message "debootstrap $DEBIAN_SUITE: $BASE_PACKAGES" \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["python3"]' "$cache/$key.tar" "$base_tag" >/dev/null ||
      die "docker import of $cache/$key.tar failed"
  fi
  exec 9>&-
  echo "$base_tag"
}

ca_bundle() {
  local candidate
  for candidate in "${CA_BUNDLE:-}" "${PIP_CERT:-}" "${REQUESTS_CA_BUNDLE:-}" /etc/ssl/certs/ca-certificates.crt; do
    if [ -n "$candidate" ] && [ -s "$candidate" ]; then
      echo "$candidate"
      return 0
    fi
  done
}

ensure_engine
base="$(ensure_base)"
if [ "${1:-}" = "--base" ]; then
  echo "$base"
  exit 0
fi

client="$(builder_client)" ||
  die "no Docker client can build with BuildKit: install the buildx plugin (or Debian's docker.io client)"
build=("$client" build --build-arg "BASE=$base" --tag "$IMAGE" --file "$repo/Dockerfile")
ca="$(ca_bundle || true)"
[ -n "$ca" ] && build+=(--secret "id=ca,src=$ca")
log "building $IMAGE on $base"
started=$SECONDS
DOCKER_BUILDKIT=1 "${build[@]}" "$repo" >&2 || die "docker build failed (command: ${build[*]} $repo)"
log "built $IMAGE in $((SECONDS - started)) s ($(docker image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}'))"
echo "$IMAGE"
