"""The planner called as the service calls it, for any checkout: warm worker, budget from the call.

The service (``PlanningLoop.plan_once``) starts the clock, forks a ``SolverWorker`` (warm: the
solvers are imported in the parent, so the child has them at once), reads the cluster and calls
``make_plan``, which hands the problem to that child. This runs the same way, one persistent
process per checkout, so two revisions can be measured instance by instance, alternating, under
the same load. Its own imports are the standard library and the measured checkout's public
``make_plan``, so it runs against an older revision unchanged:
``python benchmarks/planner_warm.py ROOT`` puts ROOT first on the path.

Protocol: pickled ``(ident, cluster, options)`` tuples on stdin (``options`` a dict of
``PlanOptions`` fields), one JSON line per plan on stdout.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # run as a script, this file imports the measured checkout only in serve()
    from scheduler_ext.domain import Cluster


def serve(stdin: Any, stdout: Any) -> None:
    """The worker process: one plan per job read from ``stdin``."""
    import importlib
    import resource

    from scheduler_ext.planning.options import PlanOptions
    from scheduler_ext.planning.planner import make_plan
    from scheduler_ext.planning.render import plan_to_dict
    from scheduler_ext.solvers.isolation import METHODS, SolverWorker

    for module, _ in METHODS.values():  # warm: the forked child inherits them
        importlib.import_module(module)
    while True:
        try:
            ident, cluster, fields = pickle.load(stdin)
        except EOFError:
            return
        options = PlanOptions(**fields)
        started = time.monotonic()  # as PlanningLoop.plan_once: the clock, the worker, the plan
        worker = SolverWorker()
        try:
            plan = plan_to_dict(make_plan(cluster, options, started=started, worker=worker))
            error = ""
        except Exception as exc:  # reported per instance, the run goes on
            plan, error = {}, f"{type(exc).__name__}: {exc}"
        finally:
            worker.close()
        wall = time.monotonic() - started
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        line = {"id": ident, "plan": plan, "wall": wall, "rss_kb": rss, "error": error}
        stdout.write(json.dumps(line) + "\n")
        stdout.flush()


class WarmPlanner:
    """A persistent worker process planning with the checkout at ``root``."""

    def __init__(self, root: Path, python: str = sys.executable) -> None:
        self.root = root
        self._proc = subprocess.Popen(
            [python, str(Path(__file__).resolve()), str(root)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=root,
            env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
        )

    def plan(self, ident: str, cluster: Cluster, options: dict[str, Any]) -> dict[str, Any]:
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        pickle.dump((ident, cluster, options), self._proc.stdin)
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise SystemExit(f"planner worker for {self.root} exited ({self._proc.wait()})")
        result: dict[str, Any] = json.loads(line)
        return result

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(10)


if __name__ == "__main__":
    sys.path[0] = sys.argv[1]  # the measured checkout, not this file's directory
    serve(sys.stdin.buffer, sys.stdout)
