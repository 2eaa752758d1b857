"""The built-in supervision models, one folder each: sources, simulator, features, policy.

Each sub-package declares ``MODEL = SupervisionModel(...)`` in its ``__init__``; they are found by
``pool.discovery`` like any office's own model, so nothing else in the package names them.
"""
