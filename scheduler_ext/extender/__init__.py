"""The extender's request path: what each verb decides, and why (README.md)."""
