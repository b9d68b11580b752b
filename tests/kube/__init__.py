"""Reusable harness for tests and benchmarks that need a real Kubernetes control plane.

- ``bins``: finds (building once if needed) the pinned binaries through ``hack/kube-bins.sh``.
- ``cluster``: creates and deletes kwokctl clusters from those binaries (``KwokCluster``).
- ``builders``: kwok nodes, PriorityClasses, Deployments, ReplicaSets, pods and PDBs.
- ``wait``: polling with a deadline that says what it saw last when it times out.
- ``recording``: a stdlib HTTP extender that records the bodies kube-scheduler sends.

``python -m tests.kube --help`` is the command for humans (see docs/testing.md).
"""
