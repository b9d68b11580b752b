"""The differential test of issue 11 in CI: a few random clusters planned, created in the plan's
end state and probed on the real kube-scheduler (``testkit/differential.py``). Any disagreement
between the planner's plan, the independent checker and kube-scheduler fails the test and
prints the cluster, the pod, the node and both verdicts. The long run (a few hundred clusters)
is ``python -m benchmarks.differential`` (figures in docs/testing.md).

``DIFFERENTIAL_CLUSTERS`` (default 5) and ``DIFFERENTIAL_SEED`` (default 0) choose the clusters.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from testkit import builders
from testkit.cluster import KwokCluster
from testkit.differential import Differential
from testkit.kube import Kube

CLUSTERS = int(os.environ.get("DIFFERENTIAL_CLUSTERS", "5"))
SEED = int(os.environ.get("DIFFERENTIAL_SEED", "0"))

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_plans_and_checker_verdicts_agree_with_kube_scheduler(
    cluster_factory: Callable[..., KwokCluster],
) -> None:
    # Its own control plane: the shared one holds other tests' nodes, which a spread constraint
    # that ignores node affinity would count.
    cluster = cluster_factory(builders.scheduler_config(), prefix="diff")
    with Kube(cluster.api_client()) as kube:
        runner = Differential(kube, probes_per_rule=2, max_probes=8)
        for seed in range(SEED, SEED + CLUSTERS):
            runner.run(seed)
    tally = runner.tally
    assert not tally.disagreements, "\n\n".join(map(str, tally.disagreements))
    assert tally.clusters == CLUSTERS, tally.summary()
    assert sum(tally.probes.values()) >= CLUSTERS, f"too few pairs probed: {tally.summary()}"
    constrained = sum(n for kind, n in tally.planned_by.items() if kind != "plain")
    assert constrained >= 1, f"no planned pod with affinity or spread: {tally.summary()}"
