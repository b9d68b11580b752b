"""``python -m testkit.demo``: the product doing its job on a real control plane, start to end.

A kwokctl cluster (``testkit.cluster``) whose real kube-scheduler calls the service through the
shipped all-verbs configuration (``deploy/``), and ``scheduler-ext serve`` in enforce mode. Three
4-core nodes receive a low-priority ``batch`` Deployment (2 cores a pod) and a ``web`` one (1 core
a pod): kube-scheduler's default scoring spreads both, so every node keeps 1 core free, 3 in all.
Then ``api`` asks for 2 cores at a higher priority with ``preemptionPolicy: Never``:
kube-scheduler leaves it Pending (no node has 2 cores free, and it may not preempt). scheduler-ext
plans (move one web pod next to another), holds the room, evicts through the Eviction API, and
``api`` runs. Each step is printed as an operator would see it.

``--mode dry-run`` shows the plan only (nothing is evicted, ``api`` stays Pending).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from testkit import builders
from testkit.bins import ensure_kube_bins
from testkit.cluster import KwokCluster, free_port
from testkit.kube import Kube, is_running
from testkit.service import ServiceProcess, extender_config
from testkit.wait import wait_for

NAMESPACE = "demo"


def _say(text: str) -> None:
    sys.stdout.write(f"\n== {text}\n")
    sys.stdout.flush()


def _show(cluster: KwokCluster) -> None:
    sys.stdout.write(cluster.kubectl("get", "pods", "-n", NAMESPACE, "-o", "wide"))
    sys.stdout.flush()


def _workload(kube: Kube) -> None:
    kube.create(builders.namespace(NAMESPACE))
    kube.create(builders.priority_class("batch", 100, description="batch work: may be moved"))
    kube.create(
        builders.priority_class(
            "prod", 1000, preemption_policy="Never", description="never preempts"
        )
    )
    for name, cpu, replicas in (("batch", "2", 3), ("web", "1", 3)):
        kube.create(
            builders.deployment(
                name,
                namespace=NAMESPACE,
                replicas=replicas,
                requests={"cpu": cpu, "memory": "1Gi"},
                priority_class_name="batch",
            )
        )
        kube.wait_running(NAMESPACE, {"app": name}, replicas, timeout=120)
    kube.create(
        builders.deployment(
            "api",
            namespace=NAMESPACE,
            replicas=1,
            requests={"cpu": "2", "memory": "1Gi"},
            priority_class_name="prod",
        )
    )


def _api_pod(kube: Kube) -> Any:
    pods = kube.pods(NAMESPACE, {"app": "api"})
    return pods[0] if pods else None


def run(
    mode: str,
    workdir: Path,
    *,
    admin_port: int | None = None,
    then: Callable[[KwokCluster, ServiceProcess], None] | None = None,
) -> int:
    """The demo; with ``admin_port`` the plans API and /metrics are served there, and ``then``
    (tests: a scraping Prometheus) runs after the last step, while the cluster and service live."""
    port = free_port()
    _say("a kwokctl control plane; kube-scheduler calls scheduler-ext (all four verbs)")
    with (
        KwokCluster.create(ensure_kube_bins(), scheduler_config=extender_config(port)) as cluster,
        Kube(cluster.api_client()) as kube,
    ):
        cluster.install_crds()  # plans are kept as PackingPlan objects
        env = {"SCHEDULER_EXT_MODE": mode}
        if admin_port is not None:
            env["SCHEDULER_EXT_SERVER__ADMIN_PORT"] = str(admin_port)
        service = ServiceProcess(cluster.kubeconfig, port, workdir / "service.log", env=env)
        service.start()
        service.port = admin_port or port  # get and get_json read the plans API's port
        try:
            service.wait_ready()
            kube.create_nodes(
                [builders.node(f"node-{i}", cpu="4", memory="16Gi") for i in range(1, 4)]
            )
            _say("batch (2 cores a pod) and web (1 core a pod), spread by kube-scheduler")
            _workload(kube)
            wait_for(
                lambda: _api_pod(kube),
                lambda pod: pod is not None and not pod.spec.node_name,
                description="the api pod, Pending",
                timeout=60,
            )
            _say("api (2 cores, priority 1000, preemptionPolicy Never) is Pending")
            _show(cluster)
            events = (
                "get",
                "events",
                "-n",
                NAMESPACE,
                "--field-selector",
                "reason=FailedScheduling",
            )
            # kube-scheduler records its event a moment after the pod shows Pending.
            failed = wait_for(
                lambda: cluster.kubectl(*events),
                lambda text: "FailedScheduling" in text,
                description="kube-scheduler's FailedScheduling event",
                timeout=60,
            )
            sys.stdout.write(failed)
            plans = wait_for(
                lambda: service.get_json("/api/v1/plans")["items"],
                lambda items: bool(items),
                description="a plan",
                timeout=120,
            )
            _say("the plan scheduler-ext made")
            sys.stdout.write(json.dumps(plans[0]["spec"], indent=2) + "\n")
            if mode != "enforce":
                _say("dry-run: nothing is executed; api stays Pending")
                if then is not None:
                    then(cluster, service)
                return 0
            wait_for(
                lambda: _api_pod(kube),
                lambda pod: pod is not None and is_running(pod),
                description="the api pod, Running",
                timeout=180,
            )
            _say("after the plan: api runs; the moved pod's replacement runs on its planned node")
            _show(cluster)
            _say("the plan, as operators see it, and the Events it left")
            plans = ("get", "packingplans", "-n", "default")
            wait_for(
                lambda: cluster.kubectl(*plans),
                lambda text: "Completed" in text,
                description="the plan Completed",
                timeout=120,
            )
            sys.stdout.write(cluster.kubectl(*plans))
            lines = cluster.kubectl("get", "events", "-n", NAMESPACE).splitlines()
            ours = [line for line in lines[1:] if "plan" in line.lower()]
            sys.stdout.write("\n".join(lines[:1] + ours) + "\n")
            if then is not None:
                then(cluster, service)
            return 0
        finally:
            service.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testkit.demo", description=__doc__)
    parser.add_argument("--mode", choices=("enforce", "dry-run"), default="enforce")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="scheduler-ext-demo-") as workdir:
        return run(args.mode, Path(workdir))


if __name__ == "__main__":
    raise SystemExit(main())
