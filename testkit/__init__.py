"""What tests and benchmarks share and is not itself a test: a top-level package so that
``benchmarks`` never imports ``tests`` (import-linter forbids it), and ``scheduler_ext`` imports
neither.

Judging plans (from ``scheduler_ext.domain`` alone, never the model, planning or solvers, so that
a bug shared by the planner and its helpers cannot hide here; import-linter holds this):

- ``checker``: the independent plan checker; ``interpod``: its InterPodAffinity and
  PodTopologySpread rules in an execution order; ``matching``: label, node and taint matching;
  ``bruteforce``: the exact optimum of tiny clusters; ``verdicts``: the checker's verdict on one
  pod pinned to one node, named as kube-scheduler names its first failing filter.

Building inputs:

- ``builders``: raw Kubernetes objects (Node, Pod, PDB, ... as dicts), the one place they are built.
- ``factories``: domain objects (``scheduler_ext.domain.Node``/``Pod``) and plan dictionaries.

Running things:

- ``bins``: finds (building once if needed) the pinned binaries through ``hack/kube-bins.sh``.
- ``cluster``: creates and deletes kwokctl clusters from those binaries (``KwokCluster``).
- ``kube``: the client's typed APIs plus create and wait helpers; ``sandbox``: a test's own
  namespace, nodes and PriorityClasses on a shared cluster.
- ``wait``: polling with a deadline that says what it saw last when it times out.
- ``recording``: a stdlib HTTP extender that records the bodies kube-scheduler sends.
- ``shapes``: the shape of a JSON document (keys and types), to compare with recordings.
- ``service``: ``scheduler-ext serve`` in its own process, and the shipped scheduler configs.
- ``fake_api``: a fake Kubernetes API server (JSON handler base, served kubeconfig).
- ``diffgen`` and ``differential``: the differential test against the real kube-scheduler
  (random clusters as manifests; plan, create in the plan's end state, probe pinned pods).

``python -m testkit --help`` is the command for humans (see docs/testing.md).
"""
