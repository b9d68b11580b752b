"""The HTTP face of the service: kube-scheduler's extender verbs, health, metrics and plans."""
