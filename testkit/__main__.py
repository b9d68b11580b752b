"""``python -m testkit``: kwokctl clusters from the pinned binaries, for humans.

    python -m testkit create [--name NAME] [--scheduler-config FILE]   # prints the kubeconfig
    python -m testkit logs --name NAME [COMPONENT ...]
    python -m testkit delete --name NAME
    python -m testkit list
    python -m testkit bins                                              # prints the bin dir

Clusters live under ``$SCHEDULER_EXT_CLUSTERS`` (default
``${TMPDIR:-/tmp}/scheduler-ext-clusters``), one directory per name holding the kubeconfig and
kwokctl's work directory. Output meant for scripts (the kubeconfig path, the bin directory) goes
to stdout; everything else to stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from testkit.bins import KubeBinsError, kube_bins
from testkit.cluster import COMPONENTS, ClusterError, KwokCluster


def clusters_root() -> Path:
    default = Path(tempfile.gettempdir()) / "scheduler-ext-clusters"
    return Path(os.environ.get("SCHEDULER_EXT_CLUSTERS", str(default)))


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def _load_config(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    loaded = yaml.safe_load(Path(path).read_text())
    if not isinstance(loaded, dict):
        raise SystemExit(f"{path}: not a KubeSchedulerConfiguration mapping")
    return loaded


def cmd_create(args: argparse.Namespace) -> int:
    base = clusters_root() / args.name
    if base.exists():
        _err(f"cluster {args.name} already exists in {base}; delete it first")
        return 1
    config = _load_config(args.scheduler_config)
    base.mkdir(parents=True)
    cluster = KwokCluster.create(
        kube_bins(),
        name=args.name,
        base_dir=base,
        scheduler_config=config,
        timeout=args.timeout,
        owns_base_dir=True,
    )
    _err(
        f"cluster {args.name} is up in {cluster.create_seconds:.1f}s; "
        f"ports {cluster.ports}; delete it with: python -m testkit delete --name {args.name}"
    )
    _out(str(cluster.kubeconfig))
    return 0


def _existing(name: str) -> KwokCluster:
    base = clusters_root() / name
    if not base.exists():
        raise SystemExit(f"no cluster {name} in {clusters_root()}")
    return KwokCluster.existing(kube_bins(), name=name, base_dir=base)


def cmd_delete(args: argparse.Namespace) -> int:
    _existing(args.name).delete()
    _err(f"deleted {args.name}")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    cluster = _existing(args.name)
    for component in args.components or COMPONENTS:
        _out(f"===== {component} =====")
        _out(cluster.logs(component))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    root = clusters_root()
    for entry in sorted(root.iterdir()) if root.exists() else []:
        if (entry / "kubeconfig.yaml").exists():
            _out(f"{entry.name}\t{entry / 'kubeconfig.yaml'}")
    return 0


def cmd_bins(args: argparse.Namespace) -> int:
    _out(str(kube_bins().directory))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testkit", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create a cluster and print its kubeconfig path")
    create.add_argument("--name", default="dev", help="cluster name (default: dev)")
    create.add_argument("--scheduler-config", help="KubeSchedulerConfiguration YAML file")
    create.add_argument("--timeout", type=float, default=120.0, help="seconds (default: 120)")
    create.set_defaults(func=cmd_create)
    delete = sub.add_parser("delete", help="stop a cluster and remove its directory")
    delete.add_argument("--name", default="dev")
    delete.set_defaults(func=cmd_delete)
    logs = sub.add_parser("logs", help="print component logs (kwokctl logs)")
    logs.add_argument("--name", default="dev")
    logs.add_argument("components", nargs="*", help=f"default: all of {', '.join(COMPONENTS)}")
    logs.set_defaults(func=cmd_logs)
    sub.add_parser("list", help="list clusters and their kubeconfigs").set_defaults(func=cmd_list)
    sub.add_parser("bins", help="build or find the binaries; print their directory").set_defaults(
        func=cmd_bins
    )
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except (ClusterError, KubeBinsError) as exc:
        _err(f"error: {exc}")
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
