"""The custom resource definitions the service needs, shipped as package data.

``packingplans.yaml`` is the one definition of the PackingPlan resource: the end-to-end tests
install it from here, and the Helm chart templates it from here. ``scheduler-ext crds`` prints it.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

PACKING_PLANS = "packingplans.yaml"


def manifest(name: str = PACKING_PLANS) -> str:
    """The YAML text of one shipped definition."""
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def definition(name: str = PACKING_PLANS) -> dict[str, Any]:
    """One shipped definition, parsed."""
    document: dict[str, Any] = yaml.safe_load(manifest(name))
    return document
