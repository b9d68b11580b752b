"""What a caller may ask of one planning run, stated once for every caller.

``scheduler-ext plan`` takes its flags' defaults and help from this model, the service's
``planning`` settings group (``config.py``) is built on it (so ``SCHEDULER_EXT_PLANNING__*``
variables and the YAML file use these field names), and ``make_plan`` takes it. A default changed
here changes all three.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from scheduler_ext.domain import DEFAULT_SCHEDULER

SolverChoice = Literal["auto", "cpsat", "greedy"]
SOLVER_CHOICES: tuple[SolverChoice, ...] = get_args(SolverChoice)


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
    """auto: CP-SAT where it fits the budget, neighbourhood search beyond; greedy as the floor."""
    max_disruptions: int | None = Field(default=None, ge=0)
    """Move or evict at most this many running pods in all; unset means no limit."""
    allow_local_storage: bool = False
    """Allow moving pods with emptyDir or hostPath volumes (their data is lost)."""
    workers: int = Field(default=0, ge=0)
    """CP-SAT search workers; 0 picks one per core."""
    scheduler_names: tuple[str, ...] = Field(default=(DEFAULT_SCHEDULER,), min_length=1)
    """The kube-scheduler profiles this service serves (their ``schedulerName``).

    Only their pods are planned, and the bind verb binds only their pods: a pod of another
    scheduler is that scheduler's to place."""
