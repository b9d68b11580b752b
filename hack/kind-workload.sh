#!/usr/bin/env bash
# The fragmentation case of the README's kind steps (testkit/demo.py's, on kwok fake nodes): in the
# namespace demo, scheduled by the chart's kube-scheduler (schedulerName scheduler-ext) onto the
# nodes labelled type=kwok (hack/kind-up.sh --kwok-nodes 3: 4 cores each), tolerating their taint:
#   batch  3 x 2 cores, PriorityClass batch (100)    spread one a node
#   web    3 x 1 core,  PriorityClass batch          spread one a node: every node keeps 1 core free
#   api    1 x 2 cores, PriorityClass prod (1000, preemptionPolicy Never)
# No node has 2 cores free and api may not preempt, so kube-scheduler leaves it Pending; 3 cores are
# free in all. scheduler-ext (enforce mode) plans a move of one web pod next to another and api runs.
# It waits for batch and web to run, creates api, waits for its pod and returns (api's fate is the
# plan's).
# Usage: hack/kind-workload.sh [--scheduler-name NAME]   (kubectl on PATH, KUBECONFIG set)
set -euo pipefail

scheduler=scheduler-ext
case "${1:-}" in
  --scheduler-name)
    [ $# -ge 2 ] || { echo "kind-workload: --scheduler-name needs a value" >&2; exit 2; }
    scheduler="$2"
    ;;
  "") ;;
  *)
    echo "kind-workload: unknown argument '$1' (usage: $0 [--scheduler-name NAME])" >&2
    exit 2
    ;;
esac

deployment() {
  # deployment NAME REPLICAS CPU PRIORITY-CLASS: a Deployment of NAME on the kwok nodes, spread softly
  # over them (ScheduleAnyway: kube-scheduler scores it, the planner may break it).
  cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1, namespace: demo}
spec:
  replicas: $2
  selector: {matchLabels: {app: $1}}
  template:
    metadata: {labels: {app: $1}}
    spec:
      schedulerName: $scheduler
      priorityClassName: $4
      nodeSelector: {type: kwok}
      tolerations: [{key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}]
      topologySpreadConstraints:
        - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway,
           labelSelector: {matchLabels: {app: $1}}}
      containers:
        - {name: main, image: registry.k8s.io/pause:3.10,
           resources: {requests: {cpu: "$3", memory: 1Gi}}}
YAML
}

kubectl apply -f - <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: batch}
value: 100
description: "batch work: may be moved"
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: prod}
value: 1000
preemptionPolicy: Never
description: "never preempts"
YAML
for spec in "batch 3 2" "web 3 1"; do
  read -r name replicas cpu <<<"$spec"
  deployment "$name" "$replicas" "$cpu" batch | kubectl apply -f -
  kubectl -n demo rollout status "deployment/$name" --timeout=180s
done
deployment api 1 2 prod | kubectl apply -f -
for _ in $(seq 1 60); do
  [ -n "$(kubectl -n demo get pods -l app=api -o name)" ] && exit 0
  sleep 1
done
echo "kind-workload: the api Deployment made no pod in 60 s (kubectl -n demo describe rs -l app=api)" >&2
exit 1
