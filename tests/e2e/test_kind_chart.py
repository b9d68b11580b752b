"""The README's kind steps, run as they stand: the chart in kind places a Pending pod by a plan.

The fixture runs README.md's ``kind-quickstart`` block with bash (``set -euo pipefail``), with a
cluster name and state directory of its own: hack/kind-up.sh (kind-config.yaml's cluster, 3 kwok
fake nodes), ``kind load docker-image`` of the project's image (hack/image.sh), ``helm install`` in
enforce mode, hack/kind-workload.sh (the fragmentation case), then the block's own waits and the
plans API through ``kubectl port-forward``. While it runs, the fixture snapshots the cluster the
moment the api pod is Pending with the case intact, so that the independent checker
(testkit/checker.py) can judge the plan against the state it was made on. The tests then check that

- the chart's kube-scheduler and the extender ran as real pods on the real node, kube-scheduler
  calling the extender through its Service over mutual TLS (the extender counted filter and bind
  calls, which nothing but that kube-scheduler's configuration sends);
- the api pod was placed by a Completed PackingPlan that the checker accepts, bound to the planned
  node, each moved pod's replacement on its planned node, 0 pods lost;
- a pod of the project's image without the client certificate cannot drive the bind verb;
- the NetworkPolicy keeps a pod of another namespace, even one holding the client certificate, off
  the verbs, where the cluster's CNI enforces NetworkPolicy (the offline node image's static CNI
  does not: docs/kind.md; the test says so and skips).

Skipped, with the reason, only where kind cannot run (tests/e2e/test_kind.py's rule).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from scheduler_ext.cluster.snapshot import cluster_from_objects
from scheduler_ext.domain import Cluster
from testkit.bins import KubeBins
from testkit.checker import DEFAULT_SCHEDULER, check_plan
from testkit.wait import wait_for
from tests.e2e.test_kind import BUILD_TIMEOUT, KIND_DOWN, REPO, _docker_ready_or_skip

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

README = REPO / "README.md"
MARKER = "<!-- kind-quickstart"
RELEASE = "scheduler-ext"  # the README's release: the chart's full name is the release's
NAMESPACE = "scheduler-ext"
DEMO = "demo"
IMAGE = "scheduler-ext:dev"
VERBS = f"https://{RELEASE}.{NAMESPACE}.svc:8888"


def quickstart_block() -> str:
    """The README's ``sh`` block after the kind-quickstart marker, verbatim."""
    text = README.read_text()
    found = re.search(re.escape(MARKER) + r"[^\n]*\n```sh\n(.*?)\n```", text, re.S)
    assert found, f"README.md has no ```sh block after {MARKER!r}"
    return found.group(1)


@dataclass(frozen=True)
class Quickstart:
    name: str
    env: dict[str, str]
    kubeconfig: Path
    kubectl: Path
    output: str
    snapshot: Cluster  # the cluster when the api pod was Pending, before the plan
    before: dict[str, dict[str, Any]]  # demo's pods then: name -> pod

    def run(self, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
        done = subprocess.run(
            [str(self.kubectl), "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--output", "json"))

    def apply(self, *manifests: dict[str, Any]) -> None:
        self.run("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List",
                                                        "items": list(manifests)}))  # fmt: skip

    def extender_get(self, path: str) -> str:
        """GET on the extender's admin port from inside its own pod (no port-forward, no policy)."""
        code = (
            "import sys, urllib.request; "
            f"sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:8889{path}').read().decode())"
        )
        return self.run("--namespace", NAMESPACE, "exec", f"deploy/{RELEASE}", "--",
                        "python", "-c", code)  # fmt: skip


def _kubectl_json(kubectl: Path, kubeconfig: Path, *args: str) -> Any:
    done = subprocess.run(
        [str(kubectl), "--kubeconfig", str(kubeconfig), *args, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return json.loads(done.stdout) if done.returncode == 0 else None


def _app(pod: dict[str, Any]) -> str:
    return str(pod["metadata"].get("labels", {}).get("app", ""))


def _before_the_plan(pods: list[dict[str, Any]]) -> bool:
    """The case set up and nothing of a plan done yet: api unbound, the 6 low pods bound and
    none of them on its way out."""
    api = [p for p in pods if _app(p) == "api"]
    low = [p for p in pods if _app(p) in {"batch", "web"}]
    return (
        bool(api)
        and not any(p["spec"].get("nodeName") for p in api)
        and len(low) == 6
        and all(p["spec"].get("nodeName") and "deletionTimestamp" not in p["metadata"] for p in low)
    )


def _snapshot_when_pending(
    process: subprocess.Popen[bytes], kubectl: Path, kubeconfig: Path, log: Path
) -> tuple[Cluster, dict[str, dict[str, Any]]]:
    """Polls while the block runs. Pods are listed in one call (one resourceVersion): the first
    list with api Pending and the case intact is the state the plan is made on; nodes, budgets,
    PriorityClasses and namespaces, which the plan does not change, are listed after it."""
    while process.poll() is None:
        listed = _kubectl_json(kubectl, kubeconfig, "get", "pods", "--all-namespaces")
        demo = [p for p in (listed or {"items": []})["items"]
                if p["metadata"]["namespace"] == DEMO]  # fmt: skip
        if listed is not None and _before_the_plan(demo):
            kinds = "nodes,poddisruptionbudgets,priorityclasses,namespaces"
            rest = _kubectl_json(kubectl, kubeconfig, "get", "--all-namespaces", kinds)
            assert rest is not None, "cannot list the cluster's nodes"
            snapshot = cluster_from_objects([listed, rest], source="kind", strict_nodes=False)
            return snapshot, {p["metadata"]["name"]: p for p in demo}
        time.sleep(0.1 if demo else 2)
    raise AssertionError(
        f"the README block ended (exit {process.returncode}) before the api pod was seen "
        f"Pending:\n{log.read_text(errors='replace')[-6000:]}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Ends the block's process group (bash, and what it left running) if still there."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@pytest.fixture(scope="module")
def quickstart(
    kube_bins: KubeBins, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Quickstart]:
    _docker_ready_or_skip()
    block = quickstart_block()
    name = f"se-kc-{uuid.uuid4().hex[:6]}"
    tmp = tmp_path_factory.mktemp("kind-chart")
    state = tmp / "state"
    kubeconfig = state / name / "kubeconfig"
    env = dict(os.environ)
    env.update(
        KIND_CLUSTER_NAME=name,
        KIND_STATE=str(state),
        # The harness's kubectl and helm first; kind comes from hack/kind-env.sh (the cached one).
        PATH=f"{kube_bins.kubectl.parent}:{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
    )
    env.pop("KUBECONFIG", None)
    log = tmp / "quickstart.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            # Traced with the elapsed seconds, each step and its time in the log (a failure's
            # report); bash ignores PS4 from the environment when run as root.
            ["bash", "-euo", "pipefail", "-c", f"PS4='+ [${{SECONDS}}s] '; set -x\n{block}"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        snapshot, before = _snapshot_when_pending(process, kube_bins.kubectl, kubeconfig, log)
        try:
            code = process.wait(BUILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            code = -1
        output = log.read_text(errors="replace")
        assert code == 0, f"the README block exited with {code}:\n{output[-8000:]}"
        yield Quickstart(name, env, kubeconfig, kube_bins.kubectl, output, snapshot, before)
    finally:
        _stop(process)
        subprocess.run(["bash", str(KIND_DOWN)], env=env, cwd=REPO, timeout=300, check=False)


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
        calls = _sample(metrics, "scheduler_ext_verb_duration_seconds_count", verb=verb)
        assert calls >= 1, f"no {verb} call reached the extender"


def test_the_pending_pod_is_placed_by_a_plan(quickstart: Quickstart) -> None:
    [pending] = [p for p in quickstart.before.values() if _app(p) == "api"]
    key = f"{DEMO}/{pending['metadata']['name']}"
    low = [p for p in quickstart.before.values() if _app(p) in {"batch", "web"}]
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
        replacements = [p for p in after if _app(p) == _app(moved)
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
    """From a namespace the NetworkPolicy does not admit, and with no client certificate: the
    extender refuses the TLS handshake (or, where NetworkPolicy is enforced, nothing answers)."""
    quickstart.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "intruder"}})
    body = {"PodName": "api", "PodNamespace": DEMO, "PodUID": "x", "Node": "kwok-node-0"}
    binds = _binds(quickstart)
    log = _probe(quickstart, "no-cert", f"{VERBS}/scheduler/bind", body, cert_secret=None)
    # Refused at the TLS layer (the server demands a certificate and drops the connection), or,
    # where NetworkPolicy is enforced, never connected: no HTTP answer either way, and the bind
    # verb never ran (its call counter did not move).
    assert log.startswith("refused:"), log
    assert log.split()[1] in REFUSALS, log
    assert _binds(quickstart) == binds
    # The same pod may reach the port: without a certificate even /healthz there is refused.
    log = _probe(quickstart, "no-cert-health", f"{VERBS}/healthz", None, cert_secret=None)
    assert log.startswith("refused:"), log


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

    log = _probe(quickstart, "with-cert", f"{VERBS}/healthz", None, cert_secret="stolen")
    daemonsets = quickstart.json("--namespace", "kube-system", "get", "daemonsets")["items"]
    enforcing = any(d["metadata"]["name"].startswith("kindnet") for d in daemonsets)
    if log.startswith("answered:") and not enforcing:
        pytest.skip(
            "this cluster does not enforce NetworkPolicy (no kindnetd: the offline node image's "
            f"static ptp CNI, docs/kind.md); a pod of another namespace reached the verbs: {log}"
        )
    assert log.startswith("refused:"), log


def test_kind_down_deletes_the_cluster(quickstart: Quickstart) -> None:
    """Last: hack/kind-down.sh with the block's environment removes the cluster and its state."""
    done = subprocess.run(["bash", str(KIND_DOWN)], env=quickstart.env, cwd=REPO, timeout=300,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not quickstart.kubeconfig.exists()


# -- helpers ---------------------------------------------------------------------------------------

#: What a refused probe reports: the handshake refused or the connection dropped before any HTTP
#: answer (with TLS 1.3 the client may send its request before the server rejects the missing
#: certificate: then it sees the connection closed), or, NetworkPolicy, no answer at all.
REFUSALS = frozenset(
    {"SSLError", "SSLEOFError", "SSLZeroReturnError", "ConnectionResetError", "RemoteDisconnected",
     "BrokenPipeError", "TimeoutError"}
)  # fmt: skip
PROBE = """
import json, ssl, sys, urllib.request, urllib.error
url, body, cert = sys.argv[1], sys.argv[2], sys.argv[3]
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE  # the server's identity is not what is tested
if cert:
    context.load_cert_chain(cert + "/tls.crt", cert + "/tls.key")
data = body.encode() if body else None
request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(request, timeout=10, context=context) as response:
        print("answered:", response.status, response.read()[:200].decode(errors="replace"))
except urllib.error.HTTPError as exc:
    print("answered:", exc.code, exc.read()[:200].decode(errors="replace"))
except Exception as exc:
    cause = getattr(exc, "reason", exc)  # URLError wraps the socket's or TLS's error
    print("refused:", type(cause).__name__, cause)
"""


def _probe(
    quickstart: Quickstart, name: str, url: str, body: Any, *, cert_secret: str | None
) -> str:
    """Runs the PROBE in a pod of the project's image in the namespace intruder; its one line."""
    container: dict[str, Any] = {
        "name": "probe",
        "image": IMAGE,
        "imagePullPolicy": "Never",
        "command": [
            "python",
            "-c",
            PROBE,
            url,
            json.dumps(body) if body else "",
            "/cert" if cert_secret else "",
        ],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "nodeSelector": {"kubernetes.io/hostname": f"{quickstart.name}-control-plane"},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
    }
    if cert_secret:
        container["volumeMounts"] = [{"name": "cert", "mountPath": "/cert", "readOnly": True}]
        spec["volumes"] = [{"name": "cert", "secret": {"secretName": cert_secret}}]
    metadata = {"name": name, "namespace": "intruder"}
    quickstart.apply({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
    wait_for(
        lambda: quickstart.json("--namespace", "intruder", "get", "pod", name)["status"],
        lambda status: status.get("phase") in {"Succeeded", "Failed"},
        description=f"the probe pod {name} done",
        timeout=180,
        interval=2,
    )
    return quickstart.run("--namespace", "intruder", "logs", name).strip()


def _binds(quickstart: Quickstart) -> float:
    metrics = quickstart.extender_get("/metrics")
    return _sample(metrics, "scheduler_ext_verb_duration_seconds_count", verb="bind")


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


def _sample(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line[len(name) : line.rindex("}")]))
        if labels.items() <= found.items():
            total += float(line.split()[-1])
    return total
