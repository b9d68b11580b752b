"""The shared process starter and stopper: the real kube-scheduler binary gets the arguments and
the log it is given (appended to, or written anew), and a process that ignores SIGTERM is
killed after its grace period."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from testkit.bins import kube_bins
from testkit.cluster import free_port
from testkit.processes import start_kube_scheduler, terminate

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("append", [True, False])
def test_kube_scheduler_is_started_on_its_config_and_logs_where_told(
    tmp_path: Path, append: bool
) -> None:
    log = tmp_path / "kube-scheduler.log"
    log.write_bytes(b"an earlier phase\n")
    missing = tmp_path / "no-such-config.yaml"
    process = start_kube_scheduler(
        kube_bins().kube_scheduler, missing, log, port=free_port(), append=append
    )
    try:
        assert process.wait(120) != 0  # no such configuration file: it says so and exits
    finally:
        terminate(process)
    text = log.read_text()
    assert text.startswith("an earlier phase\n") == append
    assert str(missing) in text


def test_a_process_that_ignores_sigterm_is_killed_after_its_grace() -> None:
    ignores = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ignoring', flush=True); time.sleep(600)"
    )
    with subprocess.Popen([sys.executable, "-c", ignores], stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        assert process.stdout.readline() == b"ignoring\n"  # its handler in place
        began = time.monotonic()
        terminate(process, grace=1.0)
    assert process.returncode == -9
    assert time.monotonic() - began >= 1.0


def test_terminate_leaves_a_finished_process_and_none_alone() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(60)
    terminate(process)
    terminate(None)
    assert process.returncode == 0
