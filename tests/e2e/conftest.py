"""Fixtures for end-to-end tests on real kwokctl clusters.

- ``kube_bins`` (session): the pinned binaries, built once by hack/kube-bins.sh if missing.
- ``cluster_factory`` (session): ``cluster_factory(scheduler_config)`` creates a cluster; every
  cluster it made is deleted at the end of the session (or earlier with ``.delete(cluster)``).
- ``kube_cluster`` / ``kube`` (session): one shared cluster with a plain default scheduler, and a
  client for it.
- ``sandbox`` (function): a namespace plus nodes and PriorityClasses of the test's own on the
  shared cluster, deleted after the test.

When a test fails, the log of every component (``kwokctl logs <component>``) of each cluster it
used is added to its failure report.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Generator, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from testkit import builders
from testkit.bins import KubeBins, KubeBinsError, ensure_kube_bins
from testkit.cluster import KwokCluster, unique_name
from testkit.kube import Kube
from testkit.sandbox import Sandbox

CREATE_TIMEOUT = 300.0
"""Seconds a cluster may take to come up (kwokctl, then every component healthy): seconds on a
quiet machine, but five components start at once on 2 cores another session may be loading;
the wait after kwokctl only gets what kwokctl left of it."""


class ClusterFactory:
    """Creates kwokctl clusters for tests and remembers them so they are always deleted."""

    def __init__(self, bins: KubeBins, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.bins = bins
        self._tmp = tmp_path_factory
        self.live: list[KwokCluster] = []

    def __call__(
        self,
        scheduler_config: Mapping[str, Any] | None = None,
        *,
        prefix: str = "e2e",
        extra_args: Mapping[str, Mapping[str, str]] | None = None,
        timeout: float = CREATE_TIMEOUT,
    ) -> KwokCluster:
        base: Path = self._tmp.mktemp(f"kwok-{prefix}")
        cluster = KwokCluster.create(
            self.bins,
            name=unique_name(prefix),
            scheduler_config=scheduler_config,
            base_dir=base,
            extra_args=extra_args,
            timeout=timeout,
        )
        self.live.append(cluster)
        return cluster

    def delete(self, cluster: KwokCluster) -> None:
        cluster.delete()
        if cluster in self.live:
            self.live.remove(cluster)

    def delete_all(self) -> None:
        errors: list[BaseException] = []
        while self.live:
            cluster = self.live.pop()
            try:
                cluster.delete()
            except Exception as exc:  # delete the others anyway, then report
                errors.append(exc)
        if errors:
            raise errors[0]


@pytest.fixture(scope="session")
def kube_bins(pytestconfig: pytest.Config) -> KubeBins:
    """Runs hack/kube-bins.sh once per session; its progress is shown even under capture (the
    first build takes several minutes)."""
    capman = pytestconfig.pluginmanager.getplugin("capturemanager")
    shown = capman.global_and_fixture_disabled() if capman else contextlib.nullcontext()
    try:
        with shown:
            return ensure_kube_bins(progress=sys.stderr)
    except KubeBinsError as exc:
        pytest.fail(f"cannot get the Kubernetes binaries: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def cluster_factory(
    kube_bins: KubeBins, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ClusterFactory]:
    factory = ClusterFactory(kube_bins, tmp_path_factory)
    try:
        yield factory
    finally:
        factory.delete_all()


@pytest.fixture(scope="session")
def kube_cluster(cluster_factory: ClusterFactory) -> KwokCluster:
    """One cluster shared by the tests that only need the default scheduler (deleted by
    ``cluster_factory`` at the end of the session)."""
    return cluster_factory(builders.scheduler_config(), prefix="shared")


@pytest.fixture(scope="session")
def kube(kube_cluster: KwokCluster) -> Iterator[Kube]:
    with Kube(kube_cluster.api_client()) as client:
        yield client


@pytest.fixture
def sandbox(kube: Kube, request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    box = Sandbox(kube, prefix=request.node.name.removeprefix("test_")[:30])
    try:
        yield box
    finally:
        box.cleanup()


# -- failure reports: attach every component's log -----------------------------------------------


def _clusters_of(item: pytest.Item) -> list[KwokCluster]:
    found: list[KwokCluster] = []
    funcargs: dict[str, Any] = getattr(item, "funcargs", {}) or {}
    for value in funcargs.values():
        if isinstance(value, KwokCluster):
            found.append(value)
        elif isinstance(value, ClusterFactory):
            found.extend(value.live)
    unique: dict[int, KwokCluster] = {}
    for cluster in found:
        if cluster.created and not cluster.deleted:
            unique[id(cluster)] = cluster
    return list(unique.values())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for cluster in _clusters_of(item):
            for component, text in cluster.all_logs().items():
                report.sections.append((f"kwokctl logs {component} [{cluster.name}]", text))
    return report
