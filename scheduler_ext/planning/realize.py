"""From class counts back to named pods: which pod is bound, moved or evicted.

Pods of a class are interchangeable, so the solvers only count them. Here each class's running
pods stay on their node as far as the counts allow (in name order), the surplus running pods are
moved to the nodes that gained pods of the class, running pods left over are evicted, and the
remaining new places go to the class's pending pods, in name order.
"""

from __future__ import annotations

from scheduler_ext.domain import Binding, Eviction, Move, Pod
from scheduler_ext.model.assignment import Assignment
from scheduler_ext.model.problem import Problem


def realize(
    problem: Problem, assignment: Assignment
) -> tuple[list[Binding], list[Move], list[Eviction], list[Pod]]:
    """Returns bindings, moves, evictions and the pending pods left pending."""
    bindings: list[Binding] = []
    moves: list[Move] = []
    evictions: list[Eviction] = []
    left_pending: list[Pod] = []
    names = [slot.name for slot in problem.nodes]
    for pods_of, placed in zip(problem.members, assignment.counts(), strict=True):
        displaced: list[Pod] = []
        spots: list[int] = []
        running = dict(pods_of.running)
        for node in sorted(set(placed) | set(running)):
            pods = running.get(node, ())
            keep = min(placed.get(node, 0), len(pods))
            displaced.extend(pods[keep:])
            spots.extend([node] * (placed.get(node, 0) - keep))
        for pod, node in zip(displaced, spots, strict=False):
            moves.append(Move(pod=pod.key, from_node=pod.node_name or "", to_node=names[node]))
        for pod in displaced[len(spots) :]:
            evictions.append(Eviction(pod=pod.key, node=pod.node_name or ""))
        free_spots = spots[len(displaced) :]
        for pod, node in zip(pods_of.pending, free_spots, strict=False):
            bindings.append(Binding(pod=pod.key, node=names[node]))
        left_pending.extend(pods_of.pending[len(free_spots) :])
    return (
        sorted(bindings, key=lambda b: b.pod),
        sorted(moves, key=lambda m: m.pod),
        sorted(evictions, key=lambda e: e.pod),
        sorted(left_pending, key=lambda p: p.key),
    )
