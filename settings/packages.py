"""The project's top-level packages, written once.

In layer order, highest first: a package imports only the packages after it (the import-linter
layers contract in ``pyproject.toml``, whose ``root_packages`` a test holds equal to this).
Read by the log setup (the project's own loggers) and by the tests that walk the tree.
"""

from __future__ import annotations

PACKAGES: tuple[str, ...] = (
    "supervision",
    "benchmarks",
    "serving",
    "training",
    "models",
    "leads",
    "features",
    "pool",
    "evaluation",
    "console",
    "settings",
)
