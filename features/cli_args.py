"""The argument parsers of the features' entry points (``python -m features.build``,
``python -m features.docs``), declared without importing them or any heavy library, so
``supervision features --help`` answers at once."""

from __future__ import annotations

import argparse

from console.parsers import module_parser

#: Where ``python -m features.build`` computes the features.
ENGINES = ("duckdb", "spark")


def build_parser() -> argparse.ArgumentParser:
    """``python -m features.build``."""
    parser = module_parser("features.build")
    parser.add_argument("--scenario", required=True, help="the model whose features to build")
    parser.add_argument("--as-of", default=None, help="YYYY-MM-DD (default: everything)")
    parser.add_argument(
        "--engine",
        default="duckdb",
        choices=ENGINES,
        help="where the features are computed (default duckdb)",
    )
    parser.add_argument(
        "--data", default=None, help="data root (default $SUPERVISION_DATA or data)"
    )
    parser.add_argument("--out", default=None, help="output root (default <data>/features)")
    parser.add_argument(
        "--module",
        default=None,
        help="a .py file, folder or module declaring MODEL (see $SUPERVISION_MODELS)",
    )
    parser.add_argument("--validate", action="store_true", help="full schema validation first")
    return parser


def docs_parser() -> argparse.ArgumentParser:
    """``python -m features.docs``."""
    parser = module_parser("features.docs")
    parser.add_argument(
        "--scenario",
        nargs="*",
        default=None,
        help="models to document (default: every discovered model)",
    )
    parser.add_argument(
        "--module",
        default=None,
        help="a .py file, folder or module declaring MODEL (see $SUPERVISION_MODELS)",
    )
    return parser
