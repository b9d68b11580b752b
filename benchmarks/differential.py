"""The differential test against the real kube-scheduler (``testkit/differential.py``) on many
random clusters at once: CI runs a handful (``tests/e2e/test_differential.py``); this command
runs a few hundred on one kwokctl control plane, for the figures in docs/testing.md.

    python -m benchmarks.differential --clusters 300 [--seed 0] [--minutes 20]

It prints one line per cluster that disagrees (and the whole disagreement at the end), then the
tally: clusters, planned pods by the inter-pod constraint they carry and sampled pairs per
checker verdict (each also put to the model) checked on kube-scheduler, and disagreements. Exit
status 1 when there is a disagreement.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from testkit import builders
from testkit.bins import ensure_kube_bins
from testkit.cluster import KwokCluster
from testkit.differential import Differential
from testkit.kube import Kube


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.differential", description=__doc__)
    parser.add_argument("--clusters", type=int, default=300, help="random clusters to run")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first cluster")
    parser.add_argument("--minutes", type=float, default=None, help="stop after this long")
    parser.add_argument("--probes-per-rule", type=int, default=1)
    parser.add_argument("--max-probes", type=int, default=5, help="sampled pairs per cluster")
    args = parser.parse_args(argv)
    deadline = None if args.minutes is None else time.monotonic() + 60 * args.minutes
    with (
        KwokCluster.create(
            ensure_kube_bins(), scheduler_config=builders.scheduler_config(), name=None
        ) as cluster,
        Kube(cluster.api_client()) as kube,
    ):
        runner = Differential(
            kube, probes_per_rule=args.probes_per_rule, max_probes=args.max_probes
        )
        for seed in range(args.seed, args.seed + args.clusters):
            if deadline is not None and time.monotonic() > deadline:
                break
            found = runner.run(seed)
            if found:
                print(f"seed {seed}: {len(found)} disagreement(s)", flush=True)
            if (seed - args.seed + 1) % 25 == 0:
                print(runner.tally.summary(), flush=True)
        for disagreement in runner.tally.disagreements:
            print(disagreement)
        print(runner.tally.summary())
    return 1 if runner.tally.disagreements else 0


if __name__ == "__main__":
    raise SystemExit(main())
