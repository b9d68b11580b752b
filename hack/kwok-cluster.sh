#!/usr/bin/env bash
# A kwokctl cluster from the pinned binaries (hack/kube-bins.sh), for humans:
#   hack/kwok-cluster.sh create [--name dev] [--scheduler-config FILE]   # prints the kubeconfig path
#   export KUBECONFIG=$(hack/kwok-cluster.sh create)
#   hack/kwok-cluster.sh logs [--name dev] [kube-scheduler ...]
#   hack/kwok-cluster.sh delete [--name dev]
#   hack/kwok-cluster.sh list
# A thin wrapper over `python -m testkit` (testkit/__main__.py); see docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ]; then
  py=.venv/bin/python
else
  py=python3
fi
exec "$py" -m testkit "$@"
