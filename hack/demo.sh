#!/usr/bin/env bash
# The main job on a fresh machine: set up (virtualenv, the pinned Kubernetes binaries, built once
# in about 10 minutes), then show the product doing its job on a real control plane: kube-scheduler
# leaves a pod Pending on a fragmented cluster, scheduler-ext plans, moves a pod, and it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/venv.sh
bash hack/kube-bins.sh >/dev/null
exec python -m testkit.demo "$@"
