# shellcheck shell=bash
# Sourced by hack/kube-bins.sh and hack/kind-node-image.sh, which both build pinned Go binaries once
# into a cache keyed by their versions: the Go environment they build in and the cache handling they
# share, written once so that the two cannot drift apart (a changed build flag would change what a
# cache key stands for). The sourcing script defines log, die and complete DIR (whether DIR is a
# finished build) and sets key and dest before calling the cache_* functions.

# go_require WHAT: stop unless `go` is on PATH (WHAT: what it is needed for).
go_require() {
  command -v go >/dev/null 2>&1 || die "'go' is not on PATH; Go >= 1.26 is needed to build $1"
}

# go_env: the environment every build step runs in: module mode, modules as the proxy serves them
# (no workspace, no vendor directory), no VCS stamping (the sources are module copies).
go_env() {
  export GOFLAGS="-buildvcs=false -mod=mod" GOWORK=off GO111MODULE=on
}

# go_install_to DIR CGO [FLAG...] PKG@VERSION...: go install, trimmed and stripped, into DIR, with
# CGO_ENABLED=CGO.
go_install_to() {
  local dir="$1" cgo="$2"
  shift 2
  env GOBIN="$dir" CGO_ENABLED="$cgo" GOFLAGS=-buildvcs=false go install -trimpath -ldflags "-s -w" "$@"
}

# cache_query --key|--check: print the cache key, or the cache directory if its build is complete
# (else exit 1 without building); either way the script ends here.
cache_query() {
  case "$1" in
    --key) echo "$key" ;;
    --check)
      complete "$dest" || exit 1
      echo "$dest"
      ;;
  esac
  exit 0
}

# cache_lock BASE: create BASE and hold its lock (fd 9) until the script ends, waiting (and saying
# so) while another build holds it.
cache_lock() {
  mkdir -p "$1" || die "cannot create cache directory $1"
  exec 9>"$1/.lock"
  if command -v flock >/dev/null 2>&1; then
    if ! flock -n 9; then
      log "another build holds $1/.lock; waiting for it"
      flock 9
    fi
  fi
}
