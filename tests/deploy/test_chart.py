"""helm/scheduler-ext rendered by the real helm: lint clean, and the objects agree with each other
and with the rest of the project (deploy/rbac.yaml, the service's settings, the kube-scheduler
configuration fields docs/extender.md explains). tests/e2e/test_chart.py installs it."""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from scheduler_ext.config import load_settings
from tests.deploy.chart import (
    CHART,
    NAMESPACE,
    REPO,
    Rendered,
    helm,
    kube_version,
    render,
    render_error,
)
from tests.deploy.test_metric_names import DASHBOARD, RULES

pytestmark = pytest.mark.slow

NAME = "se-scheduler-ext"
SCHEDULER = f"{NAME}-scheduler"
HOST = f"{NAME}.{NAMESPACE}.svc"


@pytest.fixture(scope="module")
def default() -> Rendered:
    return render()


def _settings(rendered: Rendered) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(rendered.get("ConfigMap", NAME)["data"]["settings.yaml"])
    return data


def _scheduler_config(rendered: Rendered) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        rendered.get("ConfigMap", SCHEDULER)["data"]["config.yaml"]
    )
    return data


def _pod(rendered: Rendered, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = rendered.get("Deployment", name)["spec"]["template"]
    return spec


def _mounts(container: dict[str, Any]) -> dict[str, str]:
    return {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}


def test_lint_is_clean() -> None:
    result = helm("lint", str(CHART), "--strict", "--kube-version", "1.36.0")
    assert "0 chart(s) failed" in result.stdout
    assert "[WARNING]" not in result.stdout
    assert "[ERROR]" not in result.stdout


def test_the_extender_role_is_deploy_rbac_in_dry_run(default: Rendered) -> None:
    shipped = list(yaml.safe_load_all((REPO / "deploy" / "rbac.yaml").read_text()))
    [shipped_role] = [o for o in shipped if o["kind"] == "ClusterRole"]
    assert default.get("ClusterRole", NAME)["rules"] == shipped_role["rules"]
    [binding] = [b for b in default.of_kind("ClusterRoleBinding") if b["roleRef"]["name"] == NAME]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]
    [shipped_own] = [o for o in shipped if o["kind"] == "Role"]  # its PackingPlans and Lease
    own = default.get("Role", NAME)
    assert own["rules"] == shipped_own["rules"]
    assert own["metadata"]["namespace"] == NAMESPACE


def test_the_packingplan_crd_is_the_packages() -> None:
    from scheduler_ext import crds

    shipped = yaml.safe_load((CHART / "crds" / "packingplans.yaml").read_text())
    assert shipped == crds.definition()  # Helm reads only the chart's files: a copy, kept equal


def test_enforce_adds_what_executing_plans_needs() -> None:
    rendered = render({"mode": "enforce"})
    rules = rendered.get("ClusterRole", NAME)["rules"]
    granted = {(group, res, verb) for r in rules for group in r["apiGroups"]
               for res in r["resources"] for verb in r["verbs"]}  # fmt: skip
    assert not {g for g in granted if g[1] in {"secrets", "nodes"} and g[2] != "list"
                and g[2] != "watch"}  # fmt: skip
    deploy = [yaml.safe_load_all((REPO / "deploy" / f).read_text())
              for f in ("rbac.yaml", "rbac-enforce.yaml")]  # fmt: skip
    shipped = [r for objects in deploy for o in objects if o["kind"] == "ClusterRole"
               for r in o["rules"]]  # fmt: skip
    assert rules == shipped  # deploy/rbac.yaml plus deploy/rbac-enforce.yaml, in that order
    [extender] = _scheduler_config(rendered)["extenders"]
    assert {k: v for k, v in extender.items() if k.endswith("Verb")} == {
        "filterVerb": "filter", "prioritizeVerb": "prioritize",
        "preemptVerb": "preempt", "bindVerb": "bind"}  # fmt: skip


def test_the_settings_file_is_valid_for_the_service(default: Rendered, tmp_path: Path) -> None:
    settings = _settings(default)
    secret = default.get("Secret", f"{NAME}-tls")["data"]
    server = settings["server"]
    for key, field in (("tls.crt", "tls_cert_file"), ("tls.key", "tls_key_file"),
                       ("ca.crt", "tls_client_ca_file")):  # fmt: skip
        assert server[field] == f"/etc/scheduler-ext/tls/{key}"
        local = tmp_path / key
        local.write_bytes(base64.b64decode(secret[key]))
        server[field] = str(local)
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    loaded = load_settings(config_file=path)
    assert loaded.mode == "dry-run"
    assert loaded.server.host == "0.0.0.0"
    assert loaded.server.admin_port == 8889
    assert loaded.planning.scheduler_names == ("scheduler-ext",)


def test_extra_settings_are_merged_and_the_chart_keeps_its_own() -> None:
    settings = _settings(render({"extender": {"settings": {
        "planning": {"time_limit_seconds": 3, "scheduler_names": ["x"]},
        "server": {"port": 1}}}}))  # fmt: skip
    assert settings["planning"] == {"time_limit_seconds": 3, "scheduler_names": ["scheduler-ext"]}
    assert settings["server"]["port"] == 8888


def test_kube_scheduler_calls_the_service_over_mutual_tls(default: Rendered) -> None:
    config = _scheduler_config(default)
    assert config["profiles"] == [{"schedulerName": "scheduler-ext"}]
    assert config["leaderElection"]["resourceName"] == SCHEDULER
    [extender] = config["extenders"]
    service = default.get("Service", NAME)
    [verbs] = [p for p in service["spec"]["ports"] if p["name"] == "verbs"]
    assert extender["urlPrefix"] == f"https://{HOST}:{verbs['port']}/scheduler"
    # The dry-run verbs and fields of the shipped deploy/ file, TLS aside.
    shipped = yaml.safe_load((REPO / "deploy" / "kube-scheduler-config.yaml").read_text())
    [reference] = shipped["extenders"]
    same = {k: v for k, v in reference.items() if k not in {"urlPrefix", "enableHTTPS"}}
    assert {k: extender[k] for k in same} == same
    assert extender["enableHTTPS"] is True
    tls = extender["tlsConfig"]
    assert tls["serverName"] == HOST
    pod = _pod(default, SCHEDULER)
    [container] = pod["spec"]["containers"]
    mounts = _mounts(container)
    assert all(
        Path(tls[k]).parent == Path(mounts["tls"]) for k in ("certFile", "keyFile", "caFile")
    )
    assert f"--config={mounts['config']}/config.yaml" in container["command"]
    [tls_volume] = [v for v in pod["spec"]["volumes"] if v["name"] == "tls"]
    assert tls_volume["secret"]["secretName"] == f"{SCHEDULER}-tls"


def test_the_certificates_chain_to_one_ca_and_name_the_service(
    default: Rendered, tmp_path: Path
) -> None:
    server = default.get("Secret", f"{NAME}-tls")["data"]
    client = default.get("Secret", f"{SCHEDULER}-tls")["data"]
    assert server["ca.crt"] == client["ca.crt"]
    for name, data in (("server", server), ("client", client)):
        for key in ("tls.crt", "tls.key", "ca.crt"):
            (tmp_path / f"{name}-{key}").write_bytes(base64.b64decode(data[key]))
    ca = str(tmp_path / "server-ca.crt")
    for name, purpose in (("server", "sslserver"), ("client", "sslclient")):
        result = subprocess.run(
            ["openssl", "verify", "-CAfile", ca, "-purpose", purpose,
             str(tmp_path / f"{name}-tls.crt")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
    decoded: Any = ssl._ssl._test_decode_cert(str(tmp_path / "server-tls.crt"))  # type: ignore[attr-defined]
    names = {value for kind, value in decoded["subjectAltName"] if kind == "DNS"}
    assert HOST in names
    assert NAME in names
    # Both sides load them as the service and kube-scheduler will.
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=ca)
    context.load_cert_chain(tmp_path / "server-tls.crt", tmp_path / "server-tls.key")


def test_every_pod_is_locked_down(default: Rendered) -> None:
    pods = [_pod(default, NAME)["spec"], _pod(default, SCHEDULER)["spec"]]
    pods += [p["spec"] for p in default.of_kind("Pod")]
    for spec in pods:
        security = spec["securityContext"]
        assert security["runAsNonRoot"] is True
        assert security["runAsUser"] == 65532
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert "limits" in container["resources"]


def test_the_extender_pod_probes_and_scratch_space(default: Rendered) -> None:
    spec = _pod(default, NAME)["spec"]
    [container] = spec["containers"]
    assert container["args"] == ["serve", "--config", "/etc/scheduler-ext/config/settings.yaml"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}
    assert _mounts(container)["tmp"] == "/tmp"
    [tmp] = [v for v in spec["volumes"] if v["name"] == "tmp"]
    assert "emptyDir" in tmp
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    settings = _settings(default)["server"]
    assert ports == {"verbs": settings["port"], "admin": settings["admin_port"]}


def test_service_pdb_and_network_policy_select_the_extender_pods(default: Rendered) -> None:
    labels = _pod(default, NAME)["metadata"]["labels"]
    scheduler_labels = _pod(default, SCHEDULER)["metadata"]["labels"]
    selectors = [
        default.get("Service", NAME)["spec"]["selector"],
        default.get("PodDisruptionBudget", NAME)["spec"]["selector"]["matchLabels"],
        default.get("NetworkPolicy", NAME)["spec"]["podSelector"]["matchLabels"],
    ]
    for selector in selectors:
        assert selector.items() <= labels.items()
        assert not selector.items() <= scheduler_labels.items()
    verbs, admin = default.get("NetworkPolicy", NAME)["spec"]["ingress"]
    assert verbs["ports"] == [{"port": "verbs", "protocol": "TCP"}]
    [peer] = verbs["from"]
    assert peer["podSelector"]["matchLabels"].items() <= scheduler_labels.items()
    assert admin["ports"] == [{"port": "admin", "protocol": "TCP"}]
    [test_pod] = default.of_kind("Pod")
    assert (
        admin["from"][0]["podSelector"]["matchLabels"].items()
        <= test_pod["metadata"]["labels"].items()
    )
    assert admin["from"][1]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "prometheus"
    }


def test_kube_scheduler_has_the_roles_of_a_kube_scheduler(default: Rendered) -> None:
    roles = {b["roleRef"]["name"] for b in default.of_kind("ClusterRoleBinding")
             if b["subjects"][0]["name"] == SCHEDULER}  # fmt: skip
    assert roles == {"system:kube-scheduler", "system:volume-scheduler"}
    lease = default.get("Role", f"{SCHEDULER}-leader-election")
    assert {"resources": ["leases"], "apiGroups": ["coordination.k8s.io"],
            "resourceNames": [SCHEDULER], "verbs": ["get", "update"]} in lease["rules"]  # fmt: skip


def test_monitoring_objects_carry_the_shipped_files() -> None:
    rendered = render({"metrics": {
        "serviceMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
        "grafanaDashboard": {"enabled": True}}})  # fmt: skip
    rule = rendered.get("PrometheusRule", NAME)
    assert rule["spec"] == yaml.safe_load(RULES.read_text())
    board = rendered.get("ConfigMap", f"{NAME}-dashboard")
    assert board["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(board["data"]["scheduler-ext.json"]) == json.loads(DASHBOARD.read_text())
    monitor = rendered.get("ServiceMonitor", NAME)
    assert monitor["spec"]["endpoints"][0]["port"] == "http-metrics"
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/name"
    assert rendered.get("Service", NAME)["metadata"]["labels"]["app.kubernetes.io/name"] == (
        "scheduler-ext"
    )  # so the job label is "scheduler-ext", which the rules and dashboard select


def test_cert_manager_makes_the_secrets_the_pods_mount() -> None:
    rendered = render({"tls": {"certManager": {"enabled": True}}})
    assert not rendered.of_kind("Secret")
    made = {c["spec"]["secretName"] for c in rendered.of_kind("Certificate")}
    for name in (NAME, SCHEDULER):
        [volume] = [v for v in _pod(rendered, name)["spec"]["volumes"] if v["name"] == "tls"]
        assert volume["secret"]["secretName"] in made
    assert rendered.get("Certificate", f"{SCHEDULER}-tls")["spec"]["usages"][0] == "client auth"


def test_without_tls_nothing_mentions_certificates() -> None:
    rendered = render({"tls": {"enabled": False}})
    [extender] = _scheduler_config(rendered)["extenders"]
    assert extender["urlPrefix"].startswith("http://")
    assert extender["enableHTTPS"] is False
    assert "tlsConfig" not in extender
    assert not {k for k in _settings(rendered)["server"] if k.startswith("tls_")}
    assert not rendered.of_kind("Secret")


def test_without_the_second_scheduler_only_the_extender_is_rendered() -> None:
    rendered = render(
        {
            "scheduler": {"enabled": False},
            "networkPolicy": {
                "verbsFrom": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                        }
                    }
                ]
            },
        }
    )
    names = {o["metadata"]["name"] for o in rendered.objects}
    assert not {n for n in names if n.startswith(SCHEDULER) and n != f"{SCHEDULER}-tls"}
    [verbs, _] = rendered.get("NetworkPolicy", NAME)["spec"]["ingress"]
    assert verbs["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}
    ]


def test_several_replicas_elect_a_leader_on_the_lease_the_role_grants(tmp_path: Path) -> None:
    rendered = render({"extender": {"replicas": 3, "leaderElection": {"leaseName": "se-lease"}}})
    assert rendered.get("Deployment", NAME)["spec"]["replicas"] == 3
    election = _settings(rendered)["leader_election"]
    assert election["enabled"] is True
    assert election["lease_name"] == "se-lease"
    own = rendered.get("Role", NAME)["rules"]
    assert {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
            "resourceNames": ["se-lease"], "verbs": ["get", "update"]} in own  # fmt: skip
    assert {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
            "verbs": ["create"]} in own  # fmt: skip
    [binding] = [b for b in rendered.of_kind("RoleBinding") if b["roleRef"]["name"] == NAME]
    assert binding["subjects"][0]["name"] == NAME  # the extender's ServiceAccount
    # The service reads these settings as leader election with the chart's times.
    settings = _settings(rendered)
    settings["server"] = {}
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    loaded = load_settings(config_file=path).leader_election
    assert (loaded.enabled, loaded.lease_name) == (True, "se-lease")
    assert (loaded.lease_duration_seconds, loaded.renew_deadline_seconds,
            loaded.retry_period_seconds) == (15, 10, 2)  # fmt: skip


def test_leader_election_may_be_off_only_with_one_replica() -> None:
    one = render({"extender": {"leaderElection": {"enabled": False}}})
    assert _settings(one)["leader_election"]["enabled"] is False
    complaint = render_error({"extender": {"replicas": 2, "leaderElection": {"enabled": False}}})
    assert "extender.replicas > 1 needs extender.leaderElection.enabled" in complaint


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"mode": "execute"}, "/mode"),
        ({"extender": {"replcas": 2}}, "replcas"),
        ({"scheduler": {"extender": {"verbs": ["filter", "score"]}}}, "/scheduler/extender/verbs"),
        ({"extender": {"settings": {"mode": "enforce"}}}, "/extender/settings/mode"),
        (
            {"extender": {"settings": {"leader_election": {"enabled": False}}}},
            "/extender/settings/leader_election",
        ),
        (
            {"extender": {"leaderElection": {"leaseName": "Not A Name"}}},
            "/extender/leaderElection/leaseName",
        ),
    ],
)
def test_the_values_schema_refuses_mistakes(values: dict[str, Any], complaint: str) -> None:
    assert complaint in render_error(values)


def test_the_default_kube_scheduler_is_the_version_the_harness_tests() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["scheduler"]["image"]["tag"] == kube_version()  # hack/versions.env
