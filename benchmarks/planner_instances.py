"""Which instances the planner benchmark runs: the sizes, and each size's baseline end states.

An instance is a generated workload after the kube-scheduler stand-in has placed it
(``benchmarks.kube_baseline``, DefaultPreemption on): the planner starts where kube-scheduler
stopped, as it does in a live cluster. Sizes: ``paper`` = nodes {4,8,16,32} x pods/node {4,8},
each with K {1,2,4} x util {0.90, 0.95, 1.00, 1.05}; ``larger`` = 64/128/256 nodes x 8 pods/node
at K = 4; ``huge`` = fragmented clusters of 1,000 and 5,000 nodes x ~30 pods/node (the latter
with a 10 s budget); ``topology`` = zone-spread and one-per-node Deployments scaled up on
fragmented clusters of 100, 1,000 and 5,000 nodes (``benchmarks.workloads_topology``; 10 s at
5,000), and ``topology-busy`` the same at 100 and 1,000 nodes without idle CPU in the GPU pool.
For util < 1 only seeds where a deterministic scheduler without preemption
leaves pods Pending are kept, as in the paper: an instance kube-scheduler solves alone measures
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from benchmarks.kube_baseline import kube_schedule
from benchmarks.workloads_fragmented import fragmented_cluster
from benchmarks.workloads_paper import PaperSpec, paper_workload
from benchmarks.workloads_topology import topology_cluster
from scheduler_ext.domain import Cluster

UTILS = (0.90, 0.95, 1.00, 1.05)
SEED_SEARCH_FACTOR = 40
"""For util < 1, look at up to this many seeds per wanted instance for one the scheduler fails."""


@dataclass(frozen=True)
class Size:
    name: str
    nodes: int
    pods_per_node: int
    kind: str  # "paper" | "fragmented" | "topology" | "topology-busy" (no idle GPU-pool CPU)
    priorities: tuple[int, ...] = (1, 2, 4)
    utils: tuple[float, ...] = UTILS
    time_limit: float | None = None
    """Overrides --time-limit (the 5,000-node cluster gets 10 s)."""


PAPER = [Size(f"{n}x{p}", n, p, "paper") for n in (4, 8, 16, 32) for p in (4, 8)]
LARGER = [Size(f"{n}x8", n, 8, "paper", priorities=(4,)) for n in (64, 128, 256)]
HUGE = [
    Size("1000x30", 1000, 30, "fragmented"),
    Size("5000x30", 5000, 30, "fragmented", time_limit=10.0),
]
TOPOLOGY = [
    Size("topology-100", 100, 30, "topology"),
    Size("topology-1000", 1000, 30, "topology"),
    Size("topology-5000", 5000, 30, "topology", time_limit=10.0),
]
TOPOLOGY_BUSY = [Size(f"topology-busy-{n}", n, 30, "topology-busy") for n in (100, 1000)]
ALL = {s.name: s for s in [*PAPER, *LARGER, *HUGE, *TOPOLOGY, *TOPOLOGY_BUSY]}
GROUPS = {
    "paper": PAPER,
    "larger": LARGER,
    "huge": HUGE,
    "topology": TOPOLOGY,
    "topology-busy": TOPOLOGY_BUSY,
    "all": [*PAPER, *LARGER, *HUGE, *TOPOLOGY, *TOPOLOGY_BUSY],
}


@dataclass
class Instance:
    ident: str
    size: Size
    priorities: int  # K, 0 for fragmented clusters
    util: float
    baseline: Cluster
    failing: bool
    generated: Cluster | None = None
    """The workload before the baseline placed it (kept for the topology report only)."""
    preemptions: int = 0
    victims: int = 0


def _paper_instances(
    size: Size, seeds: int, quick: bool, first_seed: int = 0
) -> Iterator[Instance]:
    priorities = (4,) if quick else size.priorities
    utils = (0.95, 1.05) if quick else size.utils
    for k in priorities:
        for util in utils:
            found = 0
            tries = seeds * SEED_SEARCH_FACTOR if util < 1.0 else seeds
            for seed in range(first_seed, first_seed + tries):
                if found == seeds:
                    break
                cluster = paper_workload(PaperSpec(size.nodes, size.pods_per_node, k, util, seed))
                if util < 1.0 and not kube_schedule(cluster, preemption=False).pending():
                    continue  # the paper keeps only seeds where the scheduler leaves pods Pending
                found += 1
                end = kube_schedule(cluster)
                yield Instance(
                    ident=f"{size.name}-k{k}-u{util:.2f}-s{seed}",
                    size=size,
                    priorities=k,
                    util=util,
                    baseline=end.cluster,
                    failing=bool(end.pending()),
                )


def _running_instances(size: Size, seeds: Iterable[int]) -> Iterator[Instance]:
    """Fragmented or topology clusters: already running, planned where the baseline stopped."""
    for seed in seeds:
        if size.kind.startswith("topology"):
            busy = size.kind == "topology-busy"
            cluster = topology_cluster(size.nodes, size.pods_per_node, seed=seed, busy_gpus=busy)
        else:
            cluster = fragmented_cluster(size.nodes, size.pods_per_node, seed=seed)
        end = kube_schedule(cluster)
        yield Instance(
            ident=f"{size.name}-s{seed}",
            size=size,
            priorities=0,
            util=0.0,
            baseline=end.cluster,
            failing=bool(end.pending()),
            generated=cluster if size.kind.startswith("topology") else None,
            preemptions=end.preemptions,
            victims=end.victims,
        )


def instances_for(size: Size, seeds: int, quick: bool, first_seed: int = 0) -> list[Instance]:
    """``seeds`` instances per combination, from seed ``first_seed`` on (for util < 1, the
    search for seeds the scheduler fails starts there)."""
    if size.kind == "paper":
        return list(_paper_instances(size, seeds, quick, first_seed))
    small = size.kind.startswith("topology") and size.nodes < 5000
    count = seeds if small else max(1, min(seeds, 2))  # large running clusters: at most 2
    return list(_running_instances(size, range(first_seed, first_seed + count)))
