"""What every solver returns, so the planner can compare and fall back without knowing which ran."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scheduler_ext.model.assignment import Assignment


@dataclass(frozen=True)
class StageReport:
    """One step of a solver's work, for logs, metrics and the plan's diagnostics."""

    name: str
    status: str
    seconds: float
    value: int | None = None
    bound: int | None = None


@dataclass(frozen=True)
class SolveResult:
    assignment: Assignment
    optimal: bool
    """True only when the assignment is proven lexicographically optimal."""
    solver: str
    stages: tuple[StageReport, ...] = ()
