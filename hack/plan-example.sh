#!/usr/bin/env bash
# The main job on a fresh machine: set up the virtualenv, then plan on the shipped example snapshot.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/venv.sh
exec scheduler-ext plan --snapshot examples/fragmented-cluster.json --time-limit 1 "$@"
