"""Acting on the cluster: binding pods now, executing plans later (the service is dry-run)."""
