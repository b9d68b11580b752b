"""scheduler-ext: a Kubernetes scheduler extender that places Pending pods by priority."""

__version__ = "0.1.0"
