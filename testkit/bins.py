"""The pinned control-plane binaries, found (and built once if missing) by hack/kube-bins.sh."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

REPO_ROOT = Path(__file__).resolve().parents[1]
KUBE_BINS_SCRIPT = REPO_ROOT / "hack" / "kube-bins.sh"

#: Set to an existing directory to use binaries from there instead of running hack/kube-bins.sh.
BINS_DIR_ENV = "SCHEDULER_EXT_KUBE_BINS"


class KubeBinsError(RuntimeError):
    """hack/kube-bins.sh failed or gave an incomplete directory."""


@dataclass(frozen=True)
class KubeBins:
    """Paths of the binaries built by hack/kube-bins.sh."""

    directory: Path

    def path(self, name: str) -> Path:
        return self.directory / name

    @property
    def kube_apiserver(self) -> Path:
        return self.path("kube-apiserver")

    @property
    def kube_controller_manager(self) -> Path:
        return self.path("kube-controller-manager")

    @property
    def kube_scheduler(self) -> Path:
        return self.path("kube-scheduler")

    @property
    def kubectl(self) -> Path:
        return self.path("kubectl")

    @property
    def etcd(self) -> Path:
        return self.path("etcd")

    @property
    def helm(self) -> Path:
        return self.path("helm")

    @property
    def kwok(self) -> Path:
        return self.path("kwok")

    @property
    def kwokctl(self) -> Path:
        return self.path("kwokctl")

    def check(self) -> None:
        missing = [
            name
            for name in (
                "kube-apiserver",
                "kube-controller-manager",
                "kube-scheduler",
                "kubectl",
                "etcd",
                "kwok",
                "kwokctl",
            )
            if not os.access(self.path(name), os.X_OK)
        ]
        if missing:
            raise KubeBinsError(f"{self.directory} lacks executable {', '.join(missing)}")


def ensure_kube_bins(progress: TextIO | None = None) -> KubeBins:
    """Run hack/kube-bins.sh (which builds only when the cache is empty) and return its directory.

    The script's progress (stderr) goes to ``progress`` (default: this process's stderr) so that a
    first, several-minute build is visible. Honours ``$SCHEDULER_EXT_KUBE_BINS``.
    """
    override = os.environ.get(BINS_DIR_ENV)
    if override:
        bins = KubeBins(Path(override))
        bins.check()
        return bins
    stream = progress if progress is not None else sys.stderr
    try:
        stream.flush()
        stderr_target: TextIO | int = stream if stream.fileno() >= 0 else subprocess.PIPE
    except (AttributeError, OSError, ValueError):  # a stream with no file descriptor
        stderr_target = subprocess.PIPE
    try:
        proc = subprocess.run(
            ["bash", str(KUBE_BINS_SCRIPT)],
            stdout=subprocess.PIPE,
            stderr=stderr_target,
            text=True,
            check=False,
            cwd=REPO_ROOT,
        )
    except OSError as exc:
        raise KubeBinsError(f"cannot run {KUBE_BINS_SCRIPT}: {exc}") from exc
    if proc.stderr:
        stream.write(proc.stderr)
    if proc.returncode != 0:
        raise KubeBinsError(
            f"{KUBE_BINS_SCRIPT} failed with exit code {proc.returncode}; its stderr above says why"
        )
    lines = proc.stdout.strip().splitlines()
    if not lines:
        raise KubeBinsError(f"{KUBE_BINS_SCRIPT} printed no directory")
    bins = KubeBins(Path(lines[-1]))
    bins.check()
    return bins


@functools.cache
def kube_bins() -> KubeBins:
    """``ensure_kube_bins()`` once per process."""
    return ensure_kube_bins()
