"""What a caller may ask of one planning run, stated once for every caller.

``scheduler-ext plan`` takes its flags' defaults and help from this model, the service's
``planning`` settings group (``config.py``) is built on it (so ``SCHEDULER_EXT_PLANNING__*``
variables and the YAML file use these field names), and ``make_plan`` takes it. A default changed
here changes all three.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from scheduler_ext.domain import DEFAULT_SCHEDULER
from scheduler_ext.model.movability import (
    DEFAULT_MOVABLE_OWNER_KINDS,
    UNMOVABLE_OWNER_KINDS,
    EvictionPolicy,
)

SolverChoice = Literal["auto", "cpsat", "greedy", "aco", "rl"]
SOLVER_CHOICES: tuple[SolverChoice, ...] = get_args(SolverChoice)

_KIND = re.compile(
    r"[A-Za-z]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?"
    r"(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*)?"
)
"""A kind as the API server accepts it: lowercased, a DNS-1035 label (CamelCase by custom);
optionally ``.group`` (``ReplicaSet.example.com``: a kind of that API group,
``model/movability.py``)."""


def _kinds_of(text: str) -> list[str]:
    return [part.strip() for part in text.split(",")] if text.strip() else []


def _split_kinds(value: object) -> object:
    """A comma-separated string (a flag, an environment variable) as a list of kinds."""
    return _kinds_of(value) if isinstance(value, str) else value


def _check_kinds(kinds: frozenset[str]) -> frozenset[str]:
    if not kinds:
        raise ValueError("needs at least one kind (--max-disruptions 0 moves nothing)")
    for kind in sorted(kinds):
        if not kind:
            raise ValueError("has an empty kind")
        if not _KIND.fullmatch(kind):
            raise ValueError(f"{kind!r} is not a kind")
        if kind.partition(".")[0] in UNMOVABLE_OWNER_KINDS:
            raise ValueError(
                f"{kind} pods are never movable: their controller recreates them on the same node"
            )
    return kinds


OwnerKinds = Annotated[frozenset[str], BeforeValidator(_split_kinds), AfterValidator(_check_kinds)]
"""Controller kinds, from a list or a comma-separated string; DaemonSet and Node refused."""


def parse_owner_kinds(text: str) -> frozenset[str]:
    """``--movable-owner-kinds``, checked as the options model checks it (ValueError: why)."""
    return _check_kinds(frozenset(_kinds_of(text)))


class PlanOptions(BaseModel):
    """One planning run's knobs; the first line of each field's docstring is its help text."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    time_limit_seconds: float = Field(default=5.0, gt=0)
    """Budget of one run: reading the cluster, building, solving and writing the plan.

    5 s, for the command line and the service alike. A 1 s command spends about half of it
    importing, and a 1,000-node snapshot takes 0.8 s to read, which leaves no search at all;
    3 s already gave a better or proven-optimal plan on every failing instance of the paper's
    grid. 5 s keeps a margin for larger clusters and is what the service has always used, so a
    plan from the command line and one from the service get the same budget.
    """
    solver: SolverChoice = "auto"
    """auto: CP-SAT where it fits the budget, neighbourhood search beyond; greedy as the floor.

    aco: the ant colony (``solvers/aco``) after greedy, for the whole budget; rl: one pass of
    the learned placement policy (``solvers/policy``) after greedy."""
    max_disruptions: int | None = Field(default=None, ge=0)
    """Move or evict at most this many running pods in all; unset means no limit."""
    allow_local_storage: bool = False
    """Allow moving pods with emptyDir or hostPath volumes (their data is lost)."""
    movable_owner_kinds: OwnerKinds = DEFAULT_MOVABLE_OWNER_KINDS
    """Controller kinds whose pods may be moved: comma-separated, e.g. ReplicaSet,StatefulSet,Job.

    A moved pod is deleted through the Eviction API and its controller must recreate it
    elsewhere: ReplicaSet and StatefulSet pods come back unchanged. A Job pod comes back too, but
    the deletion counts against the Job's backoffLimit and its work starts over; a custom
    controller's (any other kind) may not come back at all. DaemonSet and Node (mirror pods) are
    refused: their pods are bound to their node. See docs/eviction-rules.md.
    """
    allow_pvc: bool = False
    """Allow moving pods with PersistentVolumeClaim or ephemeral volumes: theirs attach anywhere.

    The planner does not read PersistentVolumes, so it cannot see a volume's node or zone
    affinity: opt in only where every claim's volume attaches on every node (network file
    systems), or a moved pod's replacement may not start on its new node.
    """
    workers: int = Field(default=0, ge=0)
    """CP-SAT search workers; 0 picks one per core."""
    scheduler_names: tuple[str, ...] = Field(default=(DEFAULT_SCHEDULER,), min_length=1)
    """The kube-scheduler profiles this service serves (their ``schedulerName``).

    Only their pods are planned, and the bind verb binds only their pods: a pod of another
    scheduler is that scheduler's to place."""

    def eviction_policy(self) -> EvictionPolicy:
        """The switches of the eviction rules (``model/movability.py``) these options set."""
        return EvictionPolicy(
            movable_owner_kinds=self.movable_owner_kinds,
            allow_local_storage=self.allow_local_storage,
            allow_pvc=self.allow_pvc,
            scheduler_names=frozenset(self.scheduler_names),
        )
