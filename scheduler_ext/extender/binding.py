"""The bind verb's work: POST the pod's Binding, then count the pod on its node at once.

kube-scheduler assumes a pod on its node before binding and lets the binding run in its own
goroutine, so the next filter call can arrive before the watch has shown the pod bound. Without
counting it ("assuming", as kube-scheduler does), the service would offer the same room twice.
The pod's requests come from the store if the watch already knows the pod, else from the filter
call that came before the bind (``PodCache``).
"""

from __future__ import annotations

import logging
from typing import Protocol

from scheduler_ext.cluster.store import ClusterStore
from scheduler_ext.errors import BindError
from scheduler_ext.extender.bodies import PodCache

logger = logging.getLogger(__name__)


class BindClient(Protocol):
    def bind(self, namespace: str, name: str, uid: str, node: str) -> None:
        """Create the pod's Binding; BindError with one line on any failure."""


def bind_pod(
    client: BindClient,
    store: ClusterStore,
    pods: PodCache,
    *,
    namespace: str,
    name: str,
    uid: str,
    node: str,
) -> str:
    """Bind; returns "" on success, else the error line for ``ExtenderBindingResult.Error``."""
    try:
        client.bind(namespace, name, uid, node)
    except BindError as exc:
        logger.warning("binding %s/%s to %s failed: %s", namespace, name, node, exc)
        return str(exc)
    pod = store.pod(f"{namespace}/{name}") or (pods.by_uid(uid) if uid else None)
    if pod is not None and (not uid or pod.uid in ("", uid)):
        store.assume(pod, node)
    else:
        logger.debug("%s/%s: requests unknown until the watch shows it", namespace, name)
    logger.info("bound %s/%s to %s", namespace, name, node)
    return ""
