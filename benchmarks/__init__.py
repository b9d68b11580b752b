"""The benchmarks behind docs/benchmarks.md; each command line is a module run with ``-m``.

Commands: ``planner`` (the planner against a kube-scheduler baseline), ``verbs`` (extender verb
latency, kube-scheduler throughput), ``fragmentation`` (the prioritize rule on the paper's
workload), ``stub_extender`` (the do-nothing extender ``verbs throughput --stub`` calls).

What they are made of:

- inputs: ``workloads_paper`` (the paper's workload), ``workloads_fragmented`` (large running
  clusters that need defragmenting), ``workloads_kubectl`` (a Cluster as kubectl JSON), ``units``;
- the baseline: ``kube_baseline``, a deterministic kube-scheduler stand-in;
- ``planner_instances``, ``planner_running``, ``planner_report``: the planner benchmark's sizes,
  runs and tables;
- ``verbs_latency``, ``verbs_throughput``, ``verbs_meters``, ``verbs_shared``: the verb
  benchmarks' two measurements, what throughput measures, and what both share.
"""
