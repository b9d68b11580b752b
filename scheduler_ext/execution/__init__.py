"""Plan execution (``mode: enforce``): room held first, then Eviction API evictions, then bindings.

The planning loop hands an actionable plan made on a fresh state to the ``Executor``
(``executor.py``), which carries it out one step at a time (``run.py``; what a run writes and
tells: ``bookkeeping.py``) against the watched state and the ``PlanJournal``: reservations
(``cluster/reservations.py``, kept by the filter verb), then each victim re-checked and evicted,
then the planned pods bound and the replacements seen on their planned nodes. Drift and a deadline
abort a plan and drop its reservations (``checks.py``). The protocol, step by step:
``docs/execution.md``.
"""
