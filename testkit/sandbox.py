"""A per-test corner of a shared cluster: its own namespace, nodes and PriorityClasses.

Tests that share one cluster stay independent by scheduling only onto their own nodes: every node
made through a ``Sandbox`` carries the label ``e2e.scheduler-ext.io/sandbox=<id>``, and
``Sandbox.node_selector`` selects exactly them. ``cleanup()`` deletes what the sandbox made.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from testkit import builders
from testkit.kube import Kube

SANDBOX_LABEL = "e2e.scheduler-ext.io/sandbox"


class Sandbox:
    def __init__(self, kube: Kube, prefix: str = "t") -> None:
        self.kube = kube
        # A DNS-1123 label (namespace and node names): lowercase alphanumerics and '-'.
        clean = re.sub(r"[^a-z0-9-]+", "-", prefix.lower())[:40].strip("-") or "t"
        self.id = f"{clean}-{secrets.token_hex(3)}"
        self.namespace = self.id
        self.node_names: list[str] = []
        self.priority_classes: list[str] = []
        kube.create(builders.namespace(self.namespace, labels={SANDBOX_LABEL: self.id}))

    @property
    def node_selector(self) -> dict[str, str]:
        return {SANDBOX_LABEL: self.id}

    def nodes(self, count: int, *, wait: bool = True, **node_kwargs: Any) -> list[str]:
        """Create ``count`` kwok nodes (``builders.node`` arguments) labelled for this sandbox."""
        labels = {**node_kwargs.pop("labels", {}), **self.node_selector}
        start = len(self.node_names)
        names = [f"{self.id}-n{start + i}" for i in range(count)]
        manifests = [builders.node(name, labels=labels, **node_kwargs) for name in names]
        self.node_names.extend(names)
        self.kube.create_nodes(manifests, wait=wait)
        return names

    def priority_class(self, name: str, value: int, **kwargs: Any) -> str:
        """Create a PriorityClass named ``<sandbox id>-<name>`` and return that name."""
        full = f"{self.id}-{name}"
        self.kube.create(builders.priority_class(full, value, **kwargs))
        self.priority_classes.append(full)
        return full

    def cleanup(self) -> None:
        self.kube.delete_namespace(self.namespace)
        self.kube.delete_nodes(self.node_names)
        for name in self.priority_classes:
            self.kube.delete_priority_class(name)
