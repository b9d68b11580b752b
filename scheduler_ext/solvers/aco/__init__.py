"""Ant colony placement: many randomised kube-scheduler-like passes that learn where pods go.

The design and why are in this folder's README.md; ``colony.solve_aco`` is the entry point.
"""
