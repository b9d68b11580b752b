"""The state kube-scheduler left, made again, for the second budget of an instance.

A plan carried out at 1 s changes the cluster, so the 10 s run needs the default's end state
back. Settling the instance again would not do: kube-scheduler breaks ties between equal nodes at
random, so a second settle can end elsewhere. Instead the end state is rebuilt: the same
ReplicaSets (and budgets) in a new namespace on the same nodes while no kube-scheduler runs, each
ReplicaSet's pods bound through pods/binding to the nodes its pods ran on (the same count per
(ReplicaSet, node)), and then the stock kube-scheduler started until it has marked the rest
Unschedulable, as it had. The result is checked: the same Running pods per (ReplicaSet, node).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import urllib3
from kubernetes.client.exceptions import ApiException

from benchmarks.e2e_paper_kube import replicaset_manifests, wait_settled
from benchmarks.e2e_paper_observe import layout, observe
from benchmarks.e2e_paper_procs import KubeScheduler, stock_scheduler_config
from benchmarks.workloads_paper import PaperSpec
from testkit import builders
from testkit.cluster import KwokCluster
from testkit.kube import Kube
from testkit.wait import wait_for


class ReplayError(RuntimeError):
    """The rebuilt state is not the one kube-scheduler left."""


def _bind(kube: Kube, namespace: str, name: str, node: str) -> None:
    """One binding, tried again when a loaded API server drops the connection (a 409 on a retry
    means the first try went through)."""
    for attempt in range(5):
        try:
            kube.bind(name, namespace, node)
            return
        except ApiException as exc:
            if exc.status == 409 and attempt:
                return
            raise
        except (urllib3.exceptions.HTTPError, OSError):
            if attempt == 4:
                raise
            time.sleep(1.0)


def replay(
    kube: Kube,
    cluster: KwokCluster,
    spec: PaperSpec,
    namespace: str,
    target: Counter[tuple[str, str]],
    *,
    guard_every: int,
    log: Path,
) -> None:
    """Rebuild ``target`` (Running pods per (ReplicaSet, node)) in ``namespace``."""
    kube.create(builders.namespace(namespace))
    manifests = replicaset_manifests(spec, namespace, guard_every)
    total = sum(m["spec"]["replicas"] for m in manifests if m["kind"] == "ReplicaSet")
    for manifest in manifests:
        kube.create(manifest)
    pods = wait_for(
        lambda: observe(kube, namespace),
        lambda seen: len(seen) >= total,
        description=f"the {total} pods of {namespace} created",
        timeout=120,
    )
    free: dict[str, list[str]] = defaultdict(list)
    for pod in sorted(pods, key=lambda p: p.name):
        free[pod.owner].append(pod.name)
    bindings = []
    for (rs, node), count in sorted(target.items()):
        for _ in range(count):
            if not free[rs]:
                raise ReplayError(f"{rs} has fewer pods than the state to rebuild")
            bindings.append((free[rs].pop(), node))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda b: _bind(kube, namespace, *b), bindings))
    wait_for(
        lambda: sum(layout(observe(kube, namespace)).values()),
        lambda running: running >= len(bindings),
        description="the bound pods Running",
        timeout=120,
    )
    with KubeScheduler(cluster, stock_scheduler_config(), log) as scheduler:
        wait_settled(kube, namespace, total, scheduler=scheduler)
    rebuilt = layout(observe(kube, namespace))
    if +rebuilt != +target:
        raise ReplayError(f"rebuilt {dict(+rebuilt)} != left {dict(+target)}")
