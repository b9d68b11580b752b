#!/usr/bin/env bash
# Runs every test: sets up the virtualenv, builds (or reuses) the Kubernetes binaries, then lint, types,
# layer contracts and pytest (unit, property and end-to-end tests on a real control plane).
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/venv.sh

ruff check scheduler_ext testkit tests benchmarks
ruff format --check scheduler_ext testkit tests benchmarks
mypy
lint-imports
hadolint Dockerfile
# The control plane for the end-to-end tests: built once (about 10 minutes), then reused.
bash hack/kube-bins.sh >/dev/null
# prometheus and promtool (Debian's prometheus) for the rule tests and the real-Prometheus test.
bash hack/prometheus.sh >/dev/null
pytest "$@"
