"""``Kube``: the typed APIs of the official client plus create/read/wait helpers for tests.

Waits poll with a deadline (``testkit.wait``) and, on timeout, say what they saw last in a
short form (pod phase, node, conditions) rather than a whole object dump.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from testkit.builders import KWOK_NODE_LABEL, KWOK_NODE_LABEL_VALUE, Manifest
from testkit.wait import wait_for


def pod_summary(pod: Any) -> dict[str, Any]:
    """The parts of a V1Pod a test usually cares about, for failure messages."""
    status = pod.status
    conditions = {
        c.type: f"{c.status}{'/' + c.reason if c.reason else ''}" for c in (status.conditions or [])
    }
    return {
        "name": pod.metadata.name,
        "phase": status.phase,
        "node": pod.spec.node_name,
        "nominated": status.nominated_node_name,
        "deleting": pod.metadata.deletion_timestamp is not None,
        "conditions": conditions,
    }


def condition(obj: Any, type_: str) -> Any | None:
    """The status condition of ``type_`` on a pod or node, or None."""
    for cond in obj.status.conditions or []:
        if cond.type == type_:
            return cond
    return None


def is_running(pod: Any) -> bool:
    ready = condition(pod, "Ready")
    return bool(
        pod.status.phase == "Running"
        and pod.spec.node_name
        and pod.metadata.deletion_timestamp is None
        and ready is not None
        and ready.status == "True"
    )


class Kube:
    """Typed API groups over one ApiClient; ``close()`` (or ``with``) releases its connections."""

    # The client's models are Optional everywhere; tests read them as ``Any`` and let a missing
    # field fail the test instead of spelling out a None check for each.
    def __init__(self, api: Any) -> None:
        self.api: Any = api
        self.core: Any = k8s.CoreV1Api(api)
        self.apps: Any = k8s.AppsV1Api(api)
        self.policy: Any = k8s.PolicyV1Api(api)
        self.scheduling: Any = k8s.SchedulingV1Api(api)
        self.coordination: Any = k8s.CoordinationV1Api(api)

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> Kube:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- create ------------------------------------------------------------------------------------

    def create(self, manifest: Manifest) -> Any:
        """Create one object from a ``testkit.builders`` manifest; returns the client's model."""
        kind = manifest["kind"]
        ns = manifest["metadata"].get("namespace", "")
        if kind == "Node":
            return self.core.create_node(manifest)
        if kind == "Namespace":
            created = self.core.create_namespace(manifest)
            self._wait_default_service_account(manifest["metadata"]["name"])
            return created
        if kind == "PriorityClass":
            return self.scheduling.create_priority_class(manifest)
        if kind == "Pod":
            return self.core.create_namespaced_pod(ns, manifest)
        if kind == "Deployment":
            return self.apps.create_namespaced_deployment(ns, manifest)
        if kind == "ReplicaSet":
            return self.apps.create_namespaced_replica_set(ns, manifest)
        if kind == "PodDisruptionBudget":
            return self.policy.create_namespaced_pod_disruption_budget(ns, manifest)
        raise ValueError(f"Kube.create does not know kind {kind!r}")

    def _wait_default_service_account(self, namespace: str, timeout: float = 30.0) -> None:
        """Pods are refused (403) until the controller-manager has made the namespace's
        ``default`` ServiceAccount: wait for it, so a pod can be created at once."""
        wait_for(
            lambda: self.core.read_namespaced_service_account("default", namespace),
            lambda account: account is not None,
            description=f"the default ServiceAccount of {namespace}",
            timeout=timeout,
            retry=lambda exc: isinstance(exc, ApiException) and exc.status == 404,
        )

    def create_all(self, manifests: Iterable[Manifest]) -> list[Any]:
        return [self.create(m) for m in manifests]

    def create_nodes(
        self, manifests: Iterable[Manifest], *, wait: bool = True, timeout: float = 60.0
    ) -> list[str]:
        """Create nodes and (by default) wait until kwok has made each Ready and untainted of
        ``node.kubernetes.io/not-ready``, so that the scheduler can use them at once."""
        names = [self.create(m).metadata.name for m in manifests]
        if wait:
            self.wait_nodes_ready(names, timeout=timeout)
        return names

    def evict(self, name: str, namespace: str) -> None:
        """Evict a pod through the Eviction API (policy/v1); raises ApiException (429 when a
        PodDisruptionBudget forbids it)."""
        body = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": name, "namespace": namespace},
        }
        self.core.create_namespaced_pod_eviction(name, namespace, body)

    def bind(self, name: str, namespace: str, node_name: str, uid: str | None = None) -> None:
        """POST pods/binding (what the default binder, or a binding extender, does)."""
        body = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": name, "namespace": namespace, **({"uid": uid} if uid else {})},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node_name},
        }
        # The response is a Status the client cannot read as a V1Binding: skip decoding.
        resp = self.core.create_namespaced_pod_binding(
            name, namespace, body, _preload_content=False
        )
        resp.release_conn()

    # -- delete ------------------------------------------------------------------------------------

    def delete_namespace(self, name: str) -> None:
        try:
            self.core.delete_namespace(name)
        except ApiException as exc:
            if exc.status != 404:
                raise

    def delete_nodes(self, names: Iterable[str]) -> None:
        for name in names:
            try:
                self.core.delete_node(name)
            except ApiException as exc:
                if exc.status != 404:
                    raise

    def delete_priority_class(self, name: str) -> None:
        try:
            self.scheduling.delete_priority_class(name)
        except ApiException as exc:
            if exc.status != 404:
                raise

    # -- read --------------------------------------------------------------------------------------

    def pods(self, namespace: str, selector: Mapping[str, str] | None = None) -> list[Any]:
        label_selector = ",".join(f"{k}={v}" for k, v in (selector or {}).items())
        items: list[Any] = self.core.list_namespaced_pod(
            namespace, label_selector=label_selector
        ).items
        return items

    def pod(self, name: str, namespace: str) -> Any:
        return self.core.read_namespaced_pod(name, namespace)

    def pod_or_none(self, name: str, namespace: str) -> Any | None:
        try:
            return self.pod(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def kwok_nodes(self) -> list[Any]:
        items: list[Any] = self.core.list_node(
            label_selector=f"{KWOK_NODE_LABEL}={KWOK_NODE_LABEL_VALUE}"
        ).items
        return items

    def events(self, namespace: str, involved_name: str | None = None) -> list[str]:
        """Events in ``namespace`` as ``reason: message`` lines (for failure messages)."""
        selector = f"involvedObject.name={involved_name}" if involved_name else ""
        return [
            f"{e.involved_object.kind}/{e.involved_object.name} {e.reason}: {e.message}"
            for e in self.core.list_namespaced_event(namespace, field_selector=selector).items
        ]

    # -- wait --------------------------------------------------------------------------------------

    def wait_nodes_ready(self, names: Iterable[str], timeout: float = 60.0) -> None:
        wanted = set(names)

        def not_ready() -> dict[str, str]:
            result: dict[str, str] = {}
            for n in self.core.list_node().items:
                if n.metadata.name not in wanted:
                    continue
                ready = condition(n, "Ready")
                taints = [t.key for t in (n.spec.taints or []) if "not-ready" in t.key]
                if ready is None or ready.status != "True" or taints:
                    result[n.metadata.name] = f"ready={ready.status if ready else None} {taints}"
            missing = wanted - {n.metadata.name for n in self.core.list_node().items}
            for name in missing:
                result[name] = "missing"
            return result

        wait_for(
            not_ready,
            lambda bad: not bad,
            description=f"{len(wanted)} nodes Ready without not-ready taints",
            timeout=timeout,
        )

    def wait_pod(
        self,
        name: str,
        namespace: str,
        predicate: Any,
        *,
        description: str,
        timeout: float = 60.0,
    ) -> Any:
        """Wait until ``predicate(pod)`` holds for pod ``name`` and return the pod."""
        return wait_for(
            lambda: self.pod(name, namespace),
            predicate,
            description=f"pod {namespace}/{name}: {description}",
            timeout=timeout,
            describe=pod_summary,
        )

    def wait_pod_gone(self, name: str, namespace: str, uid: str, timeout: float = 60.0) -> None:
        """Wait until the pod with this ``uid`` no longer exists (a same-named new pod is fine)."""

        def current() -> Any | None:
            return self.pod_or_none(name, namespace)

        wait_for(
            current,
            lambda p: p is None or p.metadata.uid != uid,
            description=f"pod {namespace}/{name} (uid {uid}) to be deleted",
            timeout=timeout,
            describe=lambda p: pod_summary(p) if p is not None else None,
        )

    def wait_pods(
        self,
        namespace: str,
        selector: Mapping[str, str],
        predicate: Any,
        *,
        description: str,
        timeout: float = 60.0,
    ) -> list[Any]:
        """Wait until ``predicate(list_of_pods)`` holds for the pods matching ``selector``."""
        return wait_for(
            lambda: self.pods(namespace, selector),
            predicate,
            description=f"pods {selector} in {namespace}: {description}",
            timeout=timeout,
            describe=lambda pods: [pod_summary(p) for p in pods],
        )

    def wait_running(
        self, namespace: str, selector: Mapping[str, str], count: int, timeout: float = 60.0
    ) -> list[Any]:
        """Wait until exactly ``count`` non-terminating pods match and all are bound, Running and
        Ready; return them."""

        def ok(pods: list[Any]) -> bool:
            live = [p for p in pods if p.metadata.deletion_timestamp is None]
            return len(live) == count and all(is_running(p) for p in live)

        pods = self.wait_pods(
            namespace,
            selector,
            ok,
            description=f"{count} bound, Running and Ready",
            timeout=timeout,
        )
        return [p for p in pods if p.metadata.deletion_timestamp is None]

    def wait_deployment_ready(
        self, name: str, namespace: str, replicas: int, timeout: float = 60.0
    ) -> Any:
        """Wait until the Deployment's own status (written by kube-controller-manager, which lags
        the pods) reports ``replicas`` updated, ready and available replicas."""

        def describe(d: Any) -> dict[str, Any]:
            s = d.status
            return {
                "observedGeneration": s.observed_generation,
                "replicas": s.replicas,
                "updated": s.updated_replicas,
                "ready": s.ready_replicas,
                "available": s.available_replicas,
            }

        return wait_for(
            lambda: self.apps.read_namespaced_deployment(name, namespace),
            lambda d: (
                d.status.observed_generation == d.metadata.generation
                and d.status.updated_replicas == replicas
                and d.status.ready_replicas == replicas
                and d.status.available_replicas == replicas
            ),
            description=f"Deployment {namespace}/{name}: {replicas} replicas ready",
            timeout=timeout,
            describe=describe,
        )

    def wait_pdb(
        self, name: str, namespace: str, predicate: Any, *, description: str, timeout: float = 60.0
    ) -> Any:
        """Wait until ``predicate(pdb)`` holds for a PodDisruptionBudget whose status is current
        (``observedGeneration == generation``)."""

        def describe(p: Any) -> dict[str, Any]:
            s = p.status
            return {
                "generation": p.metadata.generation,
                "observedGeneration": s.observed_generation if s else None,
                "currentHealthy": s.current_healthy if s else None,
                "desiredHealthy": s.desired_healthy if s else None,
                "disruptionsAllowed": s.disruptions_allowed if s else None,
            }

        return wait_for(
            lambda: self.policy.read_namespaced_pod_disruption_budget(name, namespace),
            lambda p: (
                p.status is not None
                and p.status.observed_generation == p.metadata.generation
                and bool(predicate(p))
            ),
            description=f"PodDisruptionBudget {namespace}/{name}: {description}",
            timeout=timeout,
            describe=describe,
        )
