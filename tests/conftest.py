"""What every test shares: the ``slow`` mark means "starts a process", and that is enforced.

``pytest -m "not slow and not e2e"`` is the fast set: in-process tests only. It stays that way
because a test without the ``slow`` mark fails at once when it starts a process (a subprocess, a
``multiprocessing`` child such as ``SolverWorker`` or ``make_plan`` without ``isolate=False``, a
fork): the failure names the mark to add, so a new test cannot slip a process into the fast set
unnoticed. End-to-end tests run a control plane, so ``e2e`` implies ``slow``.

No library does this: pytest-subprocess fakes ``subprocess`` instead of refusing it, and covers
neither ``multiprocessing`` nor ``os.fork``.
"""

from __future__ import annotations

import multiprocessing.process
import os
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

#: Every way the code under test starts a process: ``subprocess`` (``run``, ``check_output`` and
#: asyncio all build a ``Popen``), ``multiprocessing`` (any start method, executors included),
#: and the ``os`` calls that fork or spawn directly.
PROCESS_STARTERS: tuple[tuple[object, str], ...] = (
    (subprocess.Popen, "__init__"),
    (multiprocessing.process.BaseProcess, "start"),
    (os, "fork"),
    (os, "posix_spawn"),
    (os, "posix_spawnp"),
    (os, "system"),
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("e2e") and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


def _refuse(test: str, starter: str) -> Callable[..., Any]:
    def refuse(*args: object, **kwargs: object) -> Any:
        # pytest.fail raises a BaseException: the code under test's ``except Exception`` (the
        # planning loop's, for one) cannot swallow it.
        pytest.fail(
            f"{test} starts a process ({starter}) but is not marked slow: add "
            "@pytest.mark.slow (or a module-level pytestmark), see tests/conftest.py",
            pytrace=False,
        )

    return refuse


@pytest.fixture(autouse=True)
def _only_slow_tests_start_processes(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if request.node.get_closest_marker("slow") is not None:
        return
    for owner, name in PROCESS_STARTERS:
        if hasattr(owner, name):
            label = f"{getattr(owner, '__name__', owner)}.{name}"
            monkeypatch.setattr(owner, name, _refuse(request.node.nodeid, label))
