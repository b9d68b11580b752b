"""Every Prometheus metric of the service, built on one injected ``CollectorRegistry``.

Nothing registers on the client library's global registry: each ``create_app`` (and so each test)
gets its own registry, so tests never see another test's counts and never have to reset anything.
Names follow Prometheus conventions: base units (seconds), ``_total`` for counters, and the prefix
``scheduler_ext_``. Label values are bounded: verbs, reasons and outcomes are fixed strings,
priorities are the cluster's PriorityClass values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.context_managers import Timer

PREFIX = "scheduler_ext"

VERB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
#: The fixed label values of each counter, exported at 0 from the start: Prometheus takes a
#: series' first sample as its starting point, so a series born at 1 would hide that first count
#: from rate() and increase() (and a stat of "failures" would say "No data" instead of 0).
KNOWN_LABELS: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "plans": (("improves",), ("no_improvement",), ("failed",)),
    "binds": (("ok",), ("refused",), ("error",)),
    "plan_phases": tuple(
        (p,) for p in ("Reserving", "Evicting", "Binding", "Completed", "Aborted")
    ),
    "plan_outcomes": (("completed", ""),),
    "evictions": tuple((r,) for r in ("evicted", "gone", "blocked", "refused")),
    "moves": (("landed",), ("abandoned",)),
}
SOLVE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.verb_duration = Histogram(
            f"{PREFIX}_verb_duration_seconds",
            "Time to answer one kube-scheduler extender call, by verb.",
            ["verb"],
            buckets=VERB_BUCKETS,
            registry=r,
        )
        self.verb_errors = Counter(
            f"{PREFIX}_verb_errors_total",
            "Extender calls answered with an error, by verb and reason.",
            ["verb", "reason"],
            registry=r,
        )
        self.binds = Counter(
            f"{PREFIX}_binds_total",
            "Bindings the bind verb asked the API server for, by result.",
            ["result"],
            registry=r,
        )
        self.plans = Counter(
            f"{PREFIX}_plans_total",
            "Planning rounds, by outcome (improves, no_improvement, failed).",
            ["outcome"],
            registry=r,
        )
        self.solve_duration = Histogram(
            f"{PREFIX}_solve_duration_seconds",
            "Time spent in one solver stage of a planning round, by solver stage and status.",
            ["solver", "status"],
            buckets=SOLVE_BUCKETS,
            registry=r,
        )
        self.plan_duration = Histogram(
            f"{PREFIX}_plan_duration_seconds",
            "Wall time of a whole planning round (snapshot, model, solve, plan).",
            buckets=SOLVE_BUCKETS,
            registry=r,
        )
        self.plan_placeable = Gauge(
            f"{PREFIX}_plan_placeable_pods",
            "Pending pods the latest plan would place, by priority.",
            ["priority"],
            registry=r,
        )
        self.pending = Gauge(
            f"{PREFIX}_pending_pods",
            "Pods not bound to a node (and not terminating), by priority.",
            ["priority"],
            registry=r,
        )
        self.watch_restarts = Counter(
            f"{PREFIX}_watch_restarts_total",
            "Watches restarted after an error or a 410 Gone, by kind.",
            ["kind"],
            registry=r,
        )
        self.watch_events = Counter(
            f"{PREFIX}_watch_events_total",
            "Watch events applied to the service's state (added, modified, deleted), by kind.",
            ["kind"],
            registry=r,
        )
        self.fresh = Gauge(
            f"{PREFIX}_state_fresh",
            "1 while every watch has heard from the API server within the staleness, else 0.",
            registry=r,
        )
        self.leader = Gauge(
            f"{PREFIX}_leader",
            "1 while this replica holds the leader-election Lease (and may plan), else 0.",
            registry=r,
        )
        self.plan_phases = Counter(
            f"{PREFIX}_plan_phases_total",
            "Executed plans entering each phase (Reserving, Evicting, Binding, Completed, "
            "Aborted).",
            ["phase"],
            registry=r,
        )
        self.plan_outcomes = Counter(
            f"{PREFIX}_plan_outcomes_total",
            "Executed plans by outcome (completed, aborted) and abort cause (drift, deadline, "
            "budget, eviction, rules, room, bind, stopped; empty when completed).",
            ["outcome", "cause"],
            registry=r,
        )
        self.evictions = Counter(
            f"{PREFIX}_evictions_total",
            "Evictions plan execution asked the Eviction API for, by result (evicted, gone, "
            "blocked, refused).",
            ["result"],
            registry=r,
        )
        self.moves = Counter(
            f"{PREFIX}_moves_total",
            "Moved pods by result: landed (the replacement on its planned node) or abandoned "
            "(the plan ended first).",
            ["result"],
            registry=r,
        )
        self.plan_running = Histogram(
            f"{PREFIX}_plan_trigger_to_running_seconds",
            "From the planning round's start to every pod of the executed plan running.",
            buckets=(*SOLVE_BUCKETS, 120.0, 300.0),
            registry=r,
        )
        self.preemptions_deferred = Counter(
            f"{PREFIX}_preemptions_deferred_total",
            "Preempt calls answered with no candidate while the planner decides (enforce mode).",
            registry=r,
        )
        self.reservations = Gauge(
            f"{PREFIX}_reservations_held",
            "Room held on nodes by running plans (reservations not yet consumed).",
            registry=r,
        )
        self.synced = Gauge(
            f"{PREFIX}_state_synced",
            "1 once every watched kind has been listed, else 0.",
            registry=r,
        )
        for name, values in KNOWN_LABELS.items():
            counter: Counter = getattr(self, name)
            for labels in values:
                counter.labels(*labels)

    def time_verb(self, verb: str) -> Timer:
        """``with metrics.time_verb("filter"):`` observes the block's duration, exceptions too."""
        return self.verb_duration.labels(verb).time()

    def verb_error(self, verb: str, reason: str) -> None:
        self.verb_errors.labels(verb, reason).inc()

    def watch_restarted(self, kind: str) -> None:
        self.watch_restarts.labels(kind).inc()

    def watch_event(self, kind: str) -> None:
        self.watch_events.labels(kind).inc()

    @staticmethod
    def _set_by_priority(gauge: Gauge, counts: Mapping[int, int]) -> None:
        gauge.clear()
        for priority, count in counts.items():
            gauge.labels(str(priority)).set(count)

    def set_pending(self, counts: Mapping[int, int]) -> None:
        self._set_by_priority(self.pending, counts)

    def set_placeable(self, counts: Mapping[int, int]) -> None:
        self._set_by_priority(self.plan_placeable, counts)
