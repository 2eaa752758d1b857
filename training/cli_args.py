"""The argument parsers of the training entry points (``python -m training.train``, ``.ledger``,
``.approve``, ``.loop``), declared without importing them or any heavy library (MLflow,
LightGBM, pandas, ...), so ``supervision train --help`` answers at once.

Two values are defined here, their one home, and imported by the modules that use them (which
import MLflow): :data:`LINES` (``training.lifecycle``) and :data:`LOOP_CAPACITY`
(``training.loop``).
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from console.parsers import module_parser

#: The two lines that certify a model version (used by ``training.lifecycle``).
LINES = ("business", "data")
#: Leads per district per month in the closed loop (used by ``training.loop``).
LOOP_CAPACITY = 2


def train_parser() -> argparse.ArgumentParser:
    """``python -m training.train``."""
    parser = module_parser("training.train")
    parser.add_argument(
        "--models",
        "--scenarios",
        dest="scenarios",
        nargs="+",
        default=None,
        help="models to train (default: every discovered model: the built-ins "
        "and those in $SUPERVISION_MODELS)",
    )
    parser.add_argument(
        "--data", default=None, help="data root (default $SUPERVISION_DATA or data)"
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--scale", type=float, default=1.0, help="pool scale if it must be built")
    parser.add_argument("--root", type=Path, default=None, help="project root holding mlruns/")
    return parser


def ledger_parser() -> argparse.ArgumentParser:
    """``python -m training.ledger``."""
    parser = module_parser("training.ledger")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="project root holding mlruns/ (default: current directory)",
    )
    parser.add_argument(
        "--data",
        default=None,
        help="data root holding leads.db (default $SUPERVISION_DATA or data)",
    )
    parser.add_argument(
        "--no-store",
        action="store_true",
        help="skip the lead store; use the counts last logged to MLflow",
    )
    return parser


def approve_parser() -> argparse.ArgumentParser:
    """``python -m training.approve``."""
    parser = module_parser("training.approve")
    parser.add_argument("--scenario", required=True, help="e.g. fuel_tax")
    parser.add_argument("--version", required=True, type=int, help="registered version number")
    parser.add_argument("--line", required=True, choices=LINES, help="which line approves")
    parser.add_argument("--approver", required=True, help="the approving person's name")
    parser.add_argument("--note", default="", help="what was checked")
    parser.add_argument("--root", default=None, help="project root holding mlruns/")
    return parser


def loop_parser() -> argparse.ArgumentParser:
    """``python -m training.loop``."""
    parser = module_parser("training.loop")
    parser.add_argument("--scenario", required=True, help="the model to replay (e.g. fuel_tax)")
    parser.add_argument("--data", required=True, help="a pool built with --drift-month")
    parser.add_argument(
        "--control", default=None, help="the same pool built without drift, replayed alongside"
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=Path("reports/loop"),
        help="where the loop's own MLflow and lead stores go (default "
        "reports/loop; the control's under <root>/control)",
    )
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        required=True,
        help="first as-of date, a month end (YYYY-MM-DD)",
    )
    parser.add_argument("--months", type=int, default=13, help="months replayed (default 13)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--capacity",
        type=int,
        default=LOOP_CAPACITY,
        help=f"leads per district per month (default {LOOP_CAPACITY})",
    )
    parser.add_argument("--bar", type=float, default=None, help="override the conversion bar")
    parser.add_argument("--floor", type=float, default=None, help="override the offline floor")
    return parser
