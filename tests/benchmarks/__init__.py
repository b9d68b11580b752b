"""Tests of the benchmark code: the workload generators, the kubectl writer and the
kube-scheduler stand-in; one module per benchmark module."""
