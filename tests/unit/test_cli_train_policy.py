"""``scheduler-ext train-policy``: flags, one-line errors with exit status 2, seeded weights."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scheduler_ext.solvers.policy.network import PolicyNet

pytestmark = pytest.mark.slow  # every test runs the command in a subprocess

QUICK = ("--steps", "2", "--problems", "2", "--nodes", "4")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scheduler_ext", "train-policy", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_same_seed_writes_the_same_weights(tmp_path: Path) -> None:
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    for output in (first, second):
        done = run("--seed", "3", *QUICK, "--output", str(output))
        assert done.returncode == 0, done.stderr
        assert "held-out one-pass score: random" in done.stdout
    assert first.read_bytes() == second.read_bytes()
    PolicyNet.load(first)  # loads as the planner's policy does


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--steps", "0"), "must be 1 or more"),
        (("--seed", "x"), "not an integer"),
        (("--output", "/no/such/dir/w.npz"), "no such directory"),
        (("--output", "weights.bin"), "must end in .npz"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], says: str) -> None:
    flags = dict(zip(args[::2], args[1::2], strict=True))
    flags.setdefault("--output", "/tmp/unused.npz")
    done = run(*[x for pair in flags.items() for x in pair])
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1  # argparse's usage may come before it
    assert says in errors[0]
