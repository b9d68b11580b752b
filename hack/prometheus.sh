#!/usr/bin/env bash
# Makes sure Debian's `prometheus` package (the prometheus server and promtool) is installed: the
# promtool rule tests (tests/deploy/test_prometheus_rules.py) and the real-Prometheus end-to-end
# test (tests/e2e/test_prometheus.py) need both binaries, and CI's machine has only what the repo
# installs. When both are on PATH it returns at once; otherwise, as root with apt-get, it installs
# the package (apt-get update only if the first try fails), as hack/image.sh does for docker.io.
#
# Usage: hack/prometheus.sh        prints the directory of the binaries on stdout; progress on stderr
set -euo pipefail

log() { printf 'prometheus: %s\n' "$*" >&2; }
die() {
  printf 'prometheus: ERROR: %s\n' "$*" >&2
  exit 1
}

have() { command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; }

if ! have; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 ||
    die "prometheus/promtool missing: install the Debian package prometheus (or run this as root)"
  log "installing the Debian package prometheus (prometheus, promtool)"
  export DEBIAN_FRONTEND=noninteractive
  install=(apt-get install -y -qq --no-install-recommends prometheus)
  if ! "${install[@]}" >&2; then
    apt-get update -qq >&2 || true
    "${install[@]}" >&2 || die "apt-get install prometheus failed"
  fi
  have || die "the prometheus package is installed but prometheus/promtool are not on PATH"
fi
dirname "$(command -v promtool)"
