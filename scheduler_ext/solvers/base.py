"""What every solver returns, so the planner can compare and fall back without knowing which ran."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scheduler_ext.model.assignment import Assignment


class StageStatus(StrEnum):
    """How one solver stage ended; a bounded set, so it is also a metric label value."""

    OPTIMAL = "optimal"
    """CP-SAT proved the stage's objective."""
    FEASIBLE = "feasible"
    """CP-SAT improved on the hint or matched it, without a proof."""
    INFEASIBLE = "infeasible"
    """CP-SAT proved the stage has no solution (a model bug: the incumbent is one)."""
    INVALID = "invalid"
    """CP-SAT rejected the model (a bug)."""
    UNKNOWN = "unknown"
    """CP-SAT found nothing within its time."""
    DONE = "done"
    """A heuristic stage ran to its end."""
    TIMEOUT = "timeout"
    """A heuristic stage stopped at the deadline; what it placed so far stands."""


@dataclass(frozen=True)
class StageReport:
    """One step of a solver's work, for logs, metrics and the plan's diagnostics."""

    name: str
    status: StageStatus
    seconds: float
    value: int | None = None
    bound: int | None = None
    detail: str = ""
    """Free text for the diagnostics (e.g. rounds run); never a label."""
    limit: float | None = None
    """The seconds the stage was given (CP-SAT stages): one that ends well before them with
    neither a proof nor a gain left its time unused."""
    improved: bool = False
    """The stage replaced the incumbent with a better solution."""


@dataclass(frozen=True)
class SolveResult:
    assignment: Assignment
    optimal: bool
    """True only when the assignment is proven lexicographically optimal."""
    solver: str
    stages: tuple[StageReport, ...] = ()
    disruption_bound: int = 0
    """A proven lower bound on the disturbed running pods of any assignment that places at least
    as many pods per priority as this one (0 when no disruption stage bounded it)."""
