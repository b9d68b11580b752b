"""The README's kind steps, run as they stand: the chart in kind places a Pending pod by a plan.

The fixture (tests/e2e/kind_quickstart.py) runs README.md's ``kind-quickstart`` block with bash
(``set -euo pipefail``), with a cluster name and state directory of its own: hack/kind-up.sh
(kind-config.yaml's cluster, 3 kwok fake nodes), ``kind load docker-image`` of the project's image
(hack/image.sh), ``helm install`` in enforce mode, hack/kind-workload.sh (the fragmentation case),
then the block's own waits and the plans API through ``kubectl port-forward``. While it runs, the
fixture snapshots the cluster the moment the api pod is Pending with the case intact, so that the
independent checker (testkit/checker.py) can judge the plan against the state it was made on.
The tests then check that

- the chart's kube-scheduler and the extender ran as real pods on the real node, kube-scheduler
  calling the extender through its Service over mutual TLS (the extender counted filter and bind
  calls, which nothing but that kube-scheduler's configuration sends);
- the api pod was placed by a Completed PackingPlan that the checker accepts, bound to the planned
  node, each moved pod's replacement on its planned node, 0 pods lost;
- a pod of the project's image without the client certificate cannot drive the bind verb, and
  the extender's mutual TLS alone refuses such a client (over loopback in its own pod, where no
  NetworkPolicy applies);
- the NetworkPolicy keeps a pod of another namespace, even one holding the client certificate, off
  the verbs: no TCP connection, while such a pod reaches the API server, and with the policy
  deleted the certificate gets it in. The offline cluster
  enforces NetworkPolicy with kube-router's network policy controller (hack/kind-netpol.sh), the
  public node image with kindnetd; on a cluster with neither the test says so and skips.

Skipped, with the reason, only where kind cannot run (tests/e2e/test_kind.py's rule).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from scheduler_ext.domain import Cluster
from testkit.bins import KubeBins
from testkit.checker import DEFAULT_SCHEDULER, check_plan
from testkit.wait import wait_for
from tests.e2e.kind_quickstart import (
    DEMO,
    IMAGE,
    NAMESPACE,
    POLICY_REFUSALS,
    REFUSALS,
    RELEASE,
    TLS_REFUSALS,
    VERBS,
    Quickstart,
    app,
    enforcer,
    probe,
    probe_from_the_extender,
    run_quickstart,
    sample,
)
from tests.e2e.test_kind import KIND_DOWN, REPO

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def quickstart(
    kube_bins: KubeBins, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Quickstart]:
    with run_quickstart(kube_bins, tmp_path_factory) as run:
        yield run


def _running_on(pod: dict[str, Any], node: str) -> bool:
    return bool(pod["status"].get("phase") == "Running" and pod["spec"].get("nodeName") == node)


def test_the_charts_pods_run_on_the_real_node_and_talk_mutual_tls(quickstart: Quickstart) -> None:
    real = f"{quickstart.name}-control-plane"
    pods = quickstart.json("--namespace", NAMESPACE, "get", "pods")["items"]
    by_component = {p["metadata"]["labels"]["app.kubernetes.io/component"]: p for p in pods}
    scheduler, extender = by_component["scheduler"], by_component["extender"]
    assert _running_on(scheduler, real), scheduler["status"]
    assert _running_on(extender, real), extender["status"]
    assert scheduler["spec"]["containers"][0]["image"].startswith("registry.k8s.io/kube-scheduler:")
    assert extender["spec"]["containers"][0]["image"] == IMAGE
    # kubelet ran both containers (real pods, not kwok's pretence: kwok manages only its nodes).
    for pod in (scheduler, extender):
        [status] = pod["status"]["containerStatuses"]
        assert status["ready"]
        assert status["containerID"].startswith("containerd://")

    config_map = quickstart.json("--namespace", NAMESPACE, "get", "cm", f"{RELEASE}-scheduler")
    [wired] = yaml.safe_load(config_map["data"]["config.yaml"])["extenders"]
    assert wired["urlPrefix"] == f"{VERBS}/scheduler"
    assert wired["enableHTTPS"] is True
    assert set(wired["tlsConfig"]) >= {"certFile", "keyFile"}
    assert wired["bindVerb"] == "bind"  # enforce mode

    metrics = quickstart.extender_get("/metrics")
    for verb in ("filter", "bind"):  # only that kube-scheduler's configuration calls them
        calls = sample(metrics, "scheduler_ext_verb_duration_seconds_count", verb=verb)
        assert calls >= 1, f"no {verb} call reached the extender"


def test_the_pending_pod_is_placed_by_a_plan(quickstart: Quickstart) -> None:
    [pending] = [p for p in quickstart.before.values() if app(p) == "api"]
    key = f"{DEMO}/{pending['metadata']['name']}"
    low = [p for p in quickstart.before.values() if app(p) in {"batch", "web"}]
    assert len(low) == 6
    assert all(p["spec"].get("nodeName") for p in low)

    # kube-scheduler (the chart's, by its profile's name) left it Pending: no node had room.
    about = f"reason=FailedScheduling,involvedObject.name={pending['metadata']['name']}"
    events = quickstart.json("--namespace", DEMO, "get", "events", "--field-selector", about)
    assert events["items"], "no FailedScheduling event for the api pod"
    assert all(e["reportingComponent"] == "scheduler-ext" for e in events["items"]), events
    assert any("Insufficient cpu" in e["message"] for e in events["items"]), events

    plans = json.loads(quickstart.extender_get("/api/v1/plans"))["items"]
    placing = [p for p in plans if key in {b["pod"] for b in p["spec"]["bindings"]}]
    assert placing, f"no plan binds {key}: {[p['metadata']['name'] for p in plans]}"
    completed = [p for p in placing if p["status"]["phase"] == "Completed"]
    assert completed, [p["status"] for p in placing]
    [plan] = completed
    # Feasible, safe, honest, on the state it was made on.
    check_plan(_served_as_default(quickstart.snapshot, "scheduler-ext"), plan)
    shown = quickstart.json("--namespace", NAMESPACE, "get", "packingplan",
                            plan["metadata"]["name"])  # fmt: skip
    assert shown["status"]["phase"] == "Completed"
    assert plan["metadata"]["name"] in quickstart.output  # the block's get packingplans and curl

    [binding] = [b for b in plan["spec"]["bindings"] if b["pod"] == key]
    api = quickstart.json("--namespace", DEMO, "get", "pod", pending["metadata"]["name"])
    assert _running_on(api, binding["node"]), api["status"]
    after = quickstart.json("--namespace", DEMO, "get", "pods")["items"]
    old = {p["metadata"]["uid"] for p in quickstart.before.values()}
    assert plan["spec"]["moves"], "the case needs a move: no node had 2 cores free"
    for move in plan["spec"]["moves"]:
        moved = quickstart.before[move["pod"].split("/", 1)[1]]
        replacements = [p for p in after if app(p) == app(moved)
                        and p["metadata"]["uid"] not in old]  # fmt: skip
        assert any(_running_on(p, move["toNode"]) for p in replacements), (move, replacements)
    lost = wait_for(
        lambda: _pods_lost(quickstart),
        lambda n: n == 0,
        description="every workload back to its replicas",
        timeout=120,
        interval=2,
    )
    assert lost == 0


def test_a_pod_without_the_client_certificate_cannot_drive_the_bind_verb(
    quickstart: Quickstart,
) -> None:
    """From a namespace the NetworkPolicy does not admit, and with no client certificate: never
    connected where NetworkPolicy is enforced, else refused in the TLS handshake. And the TLS
    layer alone: from the extender's own pod over loopback, which no NetworkPolicy sees, the
    same request is refused in the handshake."""
    quickstart.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "intruder"}})
    body = {"PodName": "api", "PodNamespace": DEMO, "PodUID": "x", "Node": "kwok-node-0"}
    binds = _binds(quickstart)
    log = probe(quickstart, "no-cert", f"{VERBS}/scheduler/bind", body, cert_secret=None)
    # No HTTP answer either way, and the bind verb never ran (its call counter did not move).
    assert log.startswith("refused:"), log
    assert log.split()[1] in REFUSALS, log
    assert _binds(quickstart) == binds
    # Without a certificate even /healthz on that port is refused.
    log = probe(quickstart, "no-cert-health", f"{VERBS}/healthz", None, cert_secret=None)
    assert log.startswith("refused:"), log

    log = probe_from_the_extender(quickstart, "https://127.0.0.1:8888/scheduler/bind", body)
    assert log.startswith("refused:"), log
    assert log.split()[1] in TLS_REFUSALS, log
    assert _binds(quickstart) == binds


def test_the_network_policy_keeps_other_pods_off_the_verbs(quickstart: Quickstart) -> None:
    """A pod of another namespace holding kube-scheduler's client certificate: the NetworkPolicy
    admits only the chart's kube-scheduler pods to the verbs port."""
    client = quickstart.json("--namespace", NAMESPACE, "get", "secret", f"{RELEASE}-scheduler-tls")
    quickstart.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "intruder"}},
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
         "metadata": {"name": "stolen", "namespace": "intruder"}, "data": client["data"]},
    )  # fmt: skip
    # The policy the API server holds selects the live extender pod and, on the verbs port, admits
    # the live kube-scheduler pod and nothing of another namespace.
    policy = quickstart.json("--namespace", NAMESPACE, "get", "networkpolicy", RELEASE)["spec"]
    pods = quickstart.json("--namespace", NAMESPACE, "get", "pods")["items"]
    labels = {p["metadata"]["labels"]["app.kubernetes.io/component"]: p["metadata"]["labels"]
              for p in pods}  # fmt: skip
    assert policy["podSelector"]["matchLabels"].items() <= labels["extender"].items()
    [verbs] = [rule for rule in policy["ingress"] if rule["ports"][0]["port"] == "verbs"]
    [peer] = verbs["from"]
    assert set(peer) == {"podSelector"}  # no namespaceSelector: the release namespace only
    assert peer["podSelector"]["matchLabels"].items() <= labels["scheduler"].items()

    enforcing = enforcer(quickstart)
    log = probe(quickstart, "with-cert", f"{VERBS}/healthz", None, cert_secret="stolen")
    if enforcing is None and log.startswith("answered:"):
        pytest.skip(
            "this cluster runs no NetworkPolicy enforcer (neither kindnetd nor the kube-router of "
            "hack/kind-netpol.sh, docs/kind.md); a pod of another namespace reached the verbs: "
            f"{log}"
        )
    assert enforcing is not None, f"refused with no NetworkPolicy enforcer running: {log}"
    # Never connected (a valid certificate gets past the TLS layer: that is not what refused it).
    assert log.startswith("refused:"), log
    assert log.split()[1] in POLICY_REFUSALS, log
    # The same pod, certificate and all, has a network: it reaches the API server, which no
    # policy guards; what keeps it off the verbs is the extender's NetworkPolicy.
    control = probe(quickstart, "with-cert-api", "https://kubernetes.default.svc/livez", None,
                    cert_secret="stolen")  # fmt: skip
    assert control.startswith("answered:"), control

    # And the policy is what stops it: deleted, the same probe gets in with the stolen certificate
    # (once the enforcer has seen the deletion; each try is a new probe pod). Last of the probes:
    # only the cluster's deletion comes after.
    quickstart.run("--namespace", NAMESPACE, "delete", "networkpolicy", RELEASE)
    tries = iter(range(1000))

    def again() -> str:
        name = f"with-cert-open-{next(tries)}"
        return probe(quickstart, name, f"{VERBS}/healthz", None, cert_secret="stolen")

    opened = wait_for(
        again,
        lambda line: line.startswith("answered:"),
        description="the stolen certificate let in once the NetworkPolicy is deleted",
        timeout=120,
        interval=2,
    )
    assert opened.startswith("answered: 200"), opened


def test_kind_down_deletes_the_cluster(quickstart: Quickstart) -> None:
    """Last: hack/kind-down.sh with the block's environment removes the cluster and its state."""
    done = subprocess.run(["bash", str(KIND_DOWN)], env=quickstart.env, cwd=REPO, timeout=300,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not quickstart.kubeconfig.exists()


# -- helpers ---------------------------------------------------------------------------------------


def _binds(quickstart: Quickstart) -> float:
    metrics = quickstart.extender_get("/metrics")
    return sample(metrics, "scheduler_ext_verb_duration_seconds_count", verb="bind")


def _served_as_default(cluster: Cluster, served: str) -> Cluster:
    """The checker takes the served scheduler to be default-scheduler (testkit/checker.py,
    testkit/disruption.py); here the service serves ``served``. Renamed both ways, so that the
    checker's rules (only the served scheduler's pods are bound or moved) apply unchanged."""
    renamed = {served: DEFAULT_SCHEDULER, DEFAULT_SCHEDULER: f"{DEFAULT_SCHEDULER} (not served)"}
    pods = tuple(
        dataclasses.replace(p, scheduler_name=renamed.get(p.scheduler_name, p.scheduler_name))
        for p in cluster.pods
    )
    return dataclasses.replace(cluster, pods=pods)


def _pods_lost(quickstart: Quickstart) -> int:
    """Replicas a Deployment of the case asks for and does not have Ready."""
    lost = 0
    for deployment in quickstart.json("--namespace", DEMO, "get", "deployments")["items"]:
        lost += deployment["spec"]["replicas"] - deployment["status"].get("readyReplicas", 0)
    return lost
