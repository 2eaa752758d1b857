"""The argument parsers of the pool's entry points (``python -m pool.build``,
``python -m pool.importer``), declared without importing them or any heavy library, so
``supervision pool --help`` answers at once."""

from __future__ import annotations

import argparse
from datetime import date

from console.parsers import module_parser


def build_parser() -> argparse.ArgumentParser:
    """``python -m pool.build``."""
    parser = module_parser("pool.build")
    parser.add_argument("--scale", type=float, default=1.0, help="1 = Beijing-sized (default 1)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--months", type=int, default=30, help="months simulated (default 30)")
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        default=date(2023, 1, 1),
        help="first month, YYYY-MM-01 (default 2023-01-01)",
    )
    parser.add_argument(
        "--drift-month",
        type=int,
        default=None,
        help="0-based month from which fraudsters adapt (default: no drift)",
    )
    parser.add_argument(
        "--data", default=None, help="data root (default $SUPERVISION_DATA or ./data)"
    )
    parser.add_argument(
        "--scenarios",
        nargs="+",
        default=None,
        help="scenarios to build (default: every one that exists)",
    )
    return parser


def importer_parser() -> argparse.ArgumentParser:
    """``python -m pool.importer``."""
    parser = module_parser("pool.importer")
    parser.add_argument(
        "--models",
        nargs="+",
        default=None,
        help="models to import (default: every discovered model with origins)",
    )
    parser.add_argument(
        "--data", default=None, help="data root (default $SUPERVISION_DATA or data)"
    )
    return parser
