"""Tests of the benchmark code: the workload generators and the kube-scheduler stand-in."""
