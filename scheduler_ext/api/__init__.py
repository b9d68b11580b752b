"""The HTTP face of the service (thin): the extender verbs mounted, health, metrics and plans."""
