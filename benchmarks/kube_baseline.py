"""A deterministic, sequential stand-in for kube-scheduler: the baseline the planner must beat.

Pods arrive one at a time in the order they were applied (for the paper's workload, ReplicaSet by
ReplicaSet). Each one goes to the feasible node with the best default score - NodeResourcesFit
with the LeastAllocated strategy plus NodeResourcesBalancedAllocation, both computed on non-zero
requests as kube-scheduler does, ties broken by node name. When no node fits, DefaultPreemption
runs as in ``pkg/scheduler/framework/plugins/defaultpreemption``: on every node that passes the
non-resource filters, remove all lower-priority pods, check the pod fits, then reprieve victims
from the most important down (PDB-violating ones first) while it still fits; pick the node with
the fewest PDB violations, then the lowest highest-victim priority, then the smallest sum of
victim priorities (offset by 2^31 as upstream), then the fewest victims, then by name. Victims go
back to the queue as Pending (their ReplicaSet recreates them). After the arrivals, Pending pods
are retried highest priority first until a full pass changes nothing.

Filters (node readiness, cordon, taints, nodeSelector, required node affinity) are the checker's
(``testkit/checker.py``), so baseline and planner are judged by the same rules; so are required
pod affinity, anti-affinity and DoNotSchedule topology spread (``benchmarks.kube_interpod``, kept
by count), which preemption re-checks with the victims gone. A pod with ``preemptionPolicy:
Never`` preempts nobody (``PodEligibleToPreemptOthers``). Scoring leaves out the preferred and
ScheduleAnyway rules (and the default soft spread), which the planner does not model either.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.kube_interpod import InterPodFilter, PodCheck
from scheduler_ext.domain import CPU, MEMORY, PODS, Cluster, LabelItems, Node, Pod
from testkit import checker

MAX_NODE_SCORE = 100
DEFAULT_MILLI_CPU = 100
DEFAULT_MEMORY = 200 * 1024 * 1024
PRIORITY_OFFSET = 2**31


@dataclass(frozen=True)
class BaselineResult:
    cluster: Cluster
    """The end state: pods bound where the baseline put them, the rest Pending."""
    preemptions: int
    victims: int
    passes: int

    def pending(self) -> list[Pod]:
        return [p for p in self.cluster.pods if p.node_name is None]

    def placed_by_priority(self) -> dict[int, int]:
        return dict(Counter(p.priority for p in self.cluster.pods if p.node_name is not None))


def _nonzero(pod: Pod) -> tuple[int, int]:
    return (
        pod.requests.get(CPU) or DEFAULT_MILLI_CPU,
        pod.requests.get(MEMORY) or DEFAULT_MEMORY,
    )


def _ports(pod: Pod) -> set[tuple[str, int]]:
    return {(hp.protocol or "TCP", hp.port) for hp in pod.host_ports}


class _NodeState:
    __slots__ = ("alloc", "name", "node", "nz_cpu", "nz_mem", "pods", "ports", "used")

    def __init__(self, node: Node) -> None:
        self.node = node
        self.name = node.name
        self.alloc = node.allocatable.as_dict()
        self.used: Counter[str] = Counter()
        self.nz_cpu = 0
        self.nz_mem = 0
        self.pods: list[Pod] = []
        self.ports: Counter[tuple[str, int]] = Counter()

    def add(self, pod: Pod) -> None:
        self.pods.append(pod)
        for name, amount in pod.requests.amounts:
            self.used[name] += amount
        cpu, mem = _nonzero(pod)
        self.nz_cpu += cpu
        self.nz_mem += mem
        for port in _ports(pod):
            self.ports[port] += 1

    def remove(self, pod: Pod) -> None:
        # By identity: dataclass equality compares every field and dominates the run time.
        del self.pods[next(i for i, p in enumerate(self.pods) if p is pod)]
        for name, amount in pod.requests.amounts:
            self.used[name] -= amount
        cpu, mem = _nonzero(pod)
        self.nz_cpu -= cpu
        self.nz_mem -= mem
        for port in _ports(pod):
            self.ports[port] -= 1

    def fits(self, pod: Pod) -> bool:
        if len(self.pods) + 1 > self.alloc.get(PODS, 0):
            return False
        for name, amount in pod.requests.amounts:
            if self.used[name] + amount > self.alloc.get(name, 0):
                return False
        return not any(self.ports[port] > 0 for port in _ports(pod))

    def score(self, pod: Pod) -> int:
        """NodeResourcesFit (LeastAllocated, cpu and memory weight 1) + BalancedAllocation."""
        cpu, mem = _nonzero(pod)
        fractions = []
        least = 0
        for requested, capacity in (
            (self.nz_cpu + cpu, self.alloc.get(CPU, 0)),
            (self.nz_mem + mem, self.alloc.get(MEMORY, 0)),
        ):
            if capacity == 0 or requested > capacity:
                fractions.append(1.0)
                continue
            least += (capacity - requested) * MAX_NODE_SCORE // capacity
            fractions.append(requested / capacity)
        std = abs(fractions[0] - fractions[1]) / 2
        return least // 2 + int((1 - std) * MAX_NODE_SCORE)


class _Scheduler:
    def __init__(self, cluster: Cluster, *, preemption: bool) -> None:
        self.cluster = cluster
        self.preemption = preemption
        self.states = [_NodeState(n) for n in sorted(cluster.nodes, key=lambda n: n.name)]
        by_name = {s.name: s for s in self.states}
        self.where: dict[str, str | None] = {}
        for pod in cluster.pods:
            self.where[pod.key] = pod.node_name
            if pod.node_name in by_name:
                by_name[pod.node_name].add(pod)
        self.static: dict[object, list[_NodeState]] = {}
        # As filterPodsWithPDBViolation: budgets without or with an empty selector count for no pod.
        self.budgets = [
            b
            for b in cluster.budgets
            if b.selector is not None and (b.selector.match_labels or b.selector.match_expressions)
        ]
        self.budgets_in: dict[str, list[int]] = {}
        for i, budget in enumerate(self.budgets):
            self.budgets_in.setdefault(budget.namespace, []).append(i)
        self._covering: dict[tuple[str, LabelItems], list[int]] = {}
        self.preemptions = 0
        self.victims = 0
        self.requeued: list[Pod] = []
        self.interpod = InterPodFilter(cluster) if InterPodFilter.needed(cluster) else None

    def allowed(self, pod: Pod) -> list[_NodeState]:
        key = (pod.node_selector, pod.required_node_affinity, pod.tolerations)
        if key not in self.static:
            self.static[key] = [s for s in self.states if checker.node_rejects(pod, s.node) is None]
        return self.static[key]

    def covering(self, pod: Pod) -> list[int]:
        """Indices of the budgets matching ``pod`` (pods without labels match none, as upstream)."""
        key = (pod.namespace, pod.labels)
        found = self._covering.get(key)
        if found is None:
            found = [
                i
                for i in self.budgets_in.get(pod.namespace, ())
                if pod.labels and checker.budget_covers(self.budgets[i], pod)
            ]
            self._covering[key] = found
        return found

    def bind(self, pod: Pod, state: _NodeState) -> None:
        state.add(pod)
        self.where[pod.key] = state.name
        if self.interpod is not None:
            self.interpod.add(pod, state.name)

    def schedule(self, pod: Pod) -> bool:
        check = self.interpod.check(pod) if self.interpod is not None else None
        best: tuple[int, str] | None = None
        best_state = None
        for state in self.allowed(pod):
            if state.fits(pod) and (check is None or check.passes(state.name)):
                rank = (-state.score(pod), state.name)
                if best is None or rank < best:
                    best, best_state = rank, state
        if best_state is not None:
            self.bind(pod, best_state)
            return True
        return self.preemption and pod.preempts and self.preempt(pod, check)

    def _victims_on(
        self, pod: Pod, state: _NodeState, check: PodCheck | None
    ) -> tuple[int, list[Pod]] | None:
        lower = [p for p in state.pods if p.priority < pod.priority]
        if not lower or not self._fits_without(pod, state, lower, check):
            return None
        # MoreImportantPod: higher priority first, then the earlier arrival (list order).
        lower.sort(key=lambda p: -p.priority)
        violating, non_violating = self._split_by_budget(lower)
        victims: list[Pod] = []
        gone = set(map(id, lower))
        violations = 0
        for group, counts in ((violating, True), (non_violating, False)):
            for victim in group:
                state.add(victim)
                gone.discard(id(victim))
                if state.fits(pod) and (
                    check is None
                    or not check.concerns(victim)  # the filters passed without it: still do
                    or check.passes(state.name, [p for p in lower if id(p) in gone])
                ):
                    continue
                state.remove(victim)
                gone.add(id(victim))
                victims.append(victim)
                violations += counts
        for victim in victims:  # restore the node; the caller evicts for real
            state.add(victim)
        return violations, victims

    @staticmethod
    def _fits_without(
        pod: Pod, state: _NodeState, lower: list[Pod], check: PodCheck | None
    ) -> bool:
        """Whether ``pod`` fits once every pod of ``lower`` is gone; the node is left without
        them when it does (the caller adds back the ones it keeps), unchanged when not."""
        for name, amount in pod.requests.amounts:  # cheap bound before touching the node
            freed = sum(p.requests.get(name) for p in lower)
            if state.used[name] - freed + amount > state.alloc.get(name, 0):
                return False
        if check is not None and not check.passes(state.name, lower):
            return False  # the inter-pod filters fail even with every lower pod gone
        for victim in lower:
            state.remove(victim)
        if not state.fits(pod):
            for victim in lower:
                state.add(victim)
            return False
        return True

    def _split_by_budget(self, lower: list[Pod]) -> tuple[list[Pod], list[Pod]]:
        """(pods whose eviction would exceed a budget, the others), in order."""
        taken: Counter[int] = Counter()
        violating: list[Pod] = []
        non_violating: list[Pod] = []
        for victim in lower:
            hit = False
            for i in self.covering(victim):
                taken[i] += 1
                hit = hit or self.budgets[i].disruptions_allowed - taken[i] < 0
            (violating if hit else non_violating).append(victim)
        return violating, non_violating

    def preempt(self, pod: Pod, check: PodCheck | None = None) -> bool:
        best: tuple[int, int, int, int, str] | None = None
        choice: tuple[_NodeState, list[Pod]] | None = None
        for state in self.allowed(pod):
            if check is not None and check.unresolvable(state.name):
                continue  # UnschedulableAndUnresolvable: nodesWherePreemptionMightHelp skips it
            found = self._victims_on(pod, state, check)
            if found is None:
                continue
            violations, victims = found
            rank = (
                violations,
                max(v.priority for v in victims),
                sum(v.priority + PRIORITY_OFFSET for v in victims),
                len(victims),
                state.name,
            )
            if best is None or rank < best:
                best, choice = rank, (state, victims)
        if choice is None:
            return False
        state, victims = choice
        for victim in victims:
            state.remove(victim)
            self.where[victim.key] = None
            self.requeued.append(victim)
            if self.interpod is not None:
                self.interpod.remove(victim, state.name)
        self.bind(pod, state)
        self.preemptions += 1
        self.victims += len(victims)
        return True


def kube_schedule(
    cluster: Cluster,
    *,
    preemption: bool = True,
    max_passes: int = 20,
    order: Sequence[Pod] | None = None,
) -> BaselineResult:
    """Schedule the cluster's Pending pods (in ``order``, default cluster order) like kube would."""
    sched = _Scheduler(cluster, preemption=preemption)
    queue = [
        p
        for p in (order if order is not None else cluster.pods)
        if p.node_name is None and checker.unbindable_reason(p) is None
    ]
    arrival = {p.key: i for i, p in enumerate(queue)}
    waiting: list[Pod] = []
    for pod in queue:
        if not sched.schedule(pod):
            waiting.append(pod)
        waiting += _drain(sched, arrival)
    passes = 0
    while waiting and passes < max_passes:
        passes += 1
        waiting.sort(key=lambda p: (-p.priority, arrival[p.key]))
        still: list[Pod] = []
        changed = False
        for pod in waiting:
            if sched.schedule(pod):
                changed = True
            else:
                still.append(pod)
            still += _drain(sched, arrival)
        waiting = still
        if not changed:
            break
    pods = tuple(
        p
        if sched.where[p.key] == p.node_name
        else dataclasses.replace(
            p,
            node_name=sched.where[p.key],
            phase="Running" if sched.where[p.key] else "Pending",
        )
        for p in cluster.pods
    )
    return BaselineResult(
        cluster=dataclasses.replace(cluster, pods=pods),
        preemptions=sched.preemptions,
        victims=sched.victims,
        passes=passes,
    )


def _drain(sched: _Scheduler, arrival: dict[str, int]) -> list[Pod]:
    """Preemption victims, recreated by their controller: they join the queue as new arrivals."""
    out = sched.requeued
    sched.requeued = []
    for pod in out:
        arrival[pod.key] = len(arrival) + 1_000_000
    return out
