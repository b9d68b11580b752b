"""The README's kind block, run as it stands, for tests/e2e/test_kind_chart.py.

``run_quickstart`` runs README.md's ``kind-quickstart`` block with bash (``set -euo pipefail``,
traced with elapsed seconds), with a cluster name (``KIND_CLUSTER_NAME``) and state directory
(``KIND_STATE``) of its own, and snapshots the cluster the moment the api pod is Pending with the
case intact; ``probe`` runs a one-line HTTPS client in a pod of the project's image.
"""

from __future__ import annotations

import contextlib
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

from scheduler_ext.cluster.snapshot import cluster_from_objects
from scheduler_ext.domain import Cluster
from testkit.bins import KubeBins
from testkit.wait import wait_for
from tests.e2e.test_kind import BUILD_TIMEOUT, KIND_DOWN, REPO, _docker_ready_or_skip

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


def kubectl_json(kubectl: Path, kubeconfig: Path, *args: str) -> Any:
    done = subprocess.run(
        [str(kubectl), "--kubeconfig", str(kubeconfig), *args, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return json.loads(done.stdout) if done.returncode == 0 else None


def app(pod: dict[str, Any]) -> str:
    return str(pod["metadata"].get("labels", {}).get("app", ""))


def before_the_plan(pods: list[dict[str, Any]]) -> bool:
    """The case set up and nothing of a plan done yet: api unbound, the 6 low pods bound and
    none of them on its way out."""
    api = [p for p in pods if app(p) == "api"]
    low = [p for p in pods if app(p) in {"batch", "web"}]
    return (
        bool(api)
        and not any(p["spec"].get("nodeName") for p in api)
        and len(low) == 6
        and all(p["spec"].get("nodeName") and "deletionTimestamp" not in p["metadata"] for p in low)
    )


def snapshot_when_pending(
    process: subprocess.Popen[bytes], kubectl: Path, kubeconfig: Path, log: Path
) -> tuple[Cluster, dict[str, dict[str, Any]]]:
    """Polls while the block runs. Pods are listed in one call (one resourceVersion): the first
    list with api Pending and the case intact is the state the plan is made on; nodes, budgets,
    PriorityClasses and namespaces, which the plan does not change, are listed after it."""
    while process.poll() is None:
        listed = kubectl_json(kubectl, kubeconfig, "get", "pods", "--all-namespaces")
        demo = [p for p in (listed or {"items": []})["items"]
                if p["metadata"]["namespace"] == DEMO]  # fmt: skip
        if listed is not None and before_the_plan(demo):
            kinds = "nodes,poddisruptionbudgets,priorityclasses,namespaces"
            rest = kubectl_json(kubectl, kubeconfig, "get", "--all-namespaces", kinds)
            assert rest is not None, "cannot list the cluster's nodes"
            snapshot = cluster_from_objects([listed, rest], source="kind", strict_nodes=False)
            return snapshot, {p["metadata"]["name"]: p for p in demo}
        time.sleep(0.1 if demo else 2)
    raise AssertionError(
        f"the README block ended (exit {process.returncode}) before the api pod was seen "
        f"Pending:\n{log.read_text(errors='replace')[-6000:]}"
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ends the block's process group (bash, and what it left running) if still there."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@contextlib.contextmanager
def run_quickstart(
    kube_bins: KubeBins, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Quickstart]:
    """Runs the README block in a kind cluster of its own; yields once it ended well; deletes the
    cluster (hack/kind-down.sh) in any case."""
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
        snapshot, before = snapshot_when_pending(process, kube_bins.kubectl, kubeconfig, log)
        try:
            code = process.wait(BUILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            code = -1
        output = log.read_text(errors="replace")
        assert code == 0, f"the README block exited with {code}:\n{output[-8000:]}"
        yield Quickstart(name, env, kubeconfig, kube_bins.kubectl, output, snapshot, before)
    finally:
        stop(process)
        subprocess.run(["bash", str(KIND_DOWN)], env=env, cwd=REPO, timeout=300, check=False)


#: What a probe refused by the extender's mutual TLS reports: the handshake refused or the
#: connection dropped before any HTTP answer (with TLS 1.3 the client may send its request before
#: the server rejects the missing certificate: then it sees the connection closed).
TLS_REFUSALS = frozenset(
    {"SSLError", "SSLEOFError", "SSLZeroReturnError", "ConnectionResetError", "RemoteDisconnected",
     "BrokenPipeError"}
)  # fmt: skip
#: What a probe refused by the NetworkPolicy reports: no TCP connection at all, refused
#: (kube-router's REJECT answers with ICMP port unreachable) or never answered (an enforcer that
#: drops).
POLICY_REFUSALS = frozenset({"ConnectionRefusedError", "TimeoutError"})
REFUSALS = TLS_REFUSALS | POLICY_REFUSALS
#: The DaemonSets in kube-system that enforce NetworkPolicy: kind's kindnetd (the public node
#: image) and kube-router's network policy controller (hack/kind-netpol.sh, the offline one).
ENFORCERS = ("kindnet", "kind-netpol")
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


def enforcer(quickstart: Quickstart) -> str | None:
    """The NetworkPolicy enforcer running on every node it is meant for, by DaemonSet name."""
    for daemonset in quickstart.json("--namespace", "kube-system", "get", "daemonsets")["items"]:
        name = str(daemonset["metadata"]["name"])
        status = daemonset.get("status", {})
        ready, wanted = status.get("numberReady", 0), status.get("desiredNumberScheduled", 0)
        if name.startswith(ENFORCERS) and wanted >= 1 and ready == wanted:
            return name
    return None


def probe_from_the_extender(quickstart: Quickstart, url: str, body: Any) -> str:
    """The PROBE, without a certificate, run in the extender's own pod: over loopback, where no
    NetworkPolicy applies, so what answers is the extender's TLS alone."""
    return quickstart.run(
        "--namespace", NAMESPACE, "exec", f"deploy/{RELEASE}", "--",
        "python", "-c", PROBE, url, json.dumps(body) if body else "", "",
    ).strip()  # fmt: skip


def probe(
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


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line[len(name) : line.rindex("}")]))
        if labels.items() <= found.items():
            total += float(line.split()[-1])
    return total
