"""A learned placement policy: a small numpy network scoring (pod class, node) pairs.

Trained by policy gradient (``training.py``, run by ``python -m benchmarks.train_policy``), shipped
as ``weights.npz`` and run with numpy alone. It serves as the ant colony's heuristic and as a
one-pass constructive solver (``construct.py``); the README in this folder says why.
"""
