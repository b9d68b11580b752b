"""What a caller may ask of one planning run; shared by the CLI, the service and the benchmarks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SolverChoice = Literal["auto", "cpsat", "greedy"]


@dataclass(frozen=True)
class PlanOptions:
    time_limit: float = 1.0
    """Seconds for the whole run: reading, building, solving and writing the plan."""
    solver: SolverChoice = "auto"
    """auto: CP-SAT where it fits the budget, neighbourhood search beyond, greedy as the floor."""
    max_disruptions: int | None = None
    """At most this many running pods moved or evicted in all; None means no limit."""
    allow_local_storage: bool = False
    """Pods with emptyDir (not in memory) or hostPath volumes may be moved (their data is lost)."""
    workers: int = 0
    """CP-SAT search workers; 0 picks one per core."""
    isolate: bool = True
    """Run CP-SAT in a child process so that a crash inside it cannot take the caller down."""
