"""The argument parsers of the benchmarks' entry points (``python -m benchmarks.run``,
``.adbench``, ``.odds``, ``.card_fraud``), declared without importing them or any heavy library
(pandas, scikit-learn, PyOD, ...), so ``supervision bench --help`` answers at once.

Some defaults are defined here, their one home, and imported by the modules that use them
(which import heavy libraries): :data:`REPO`, :data:`DEFAULT_MAX_ROWS` and
:data:`SUPERVISED_PEERS` (``benchmarks.adbench``) and :data:`CUSTOMERS`, :data:`TERMINALS`,
:data:`DAYS` (``benchmarks.card_fraud.Simulation``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from console.parsers import command_parser, module_parser

#: The repository root: reports go under ``<REPO>/reports``.
REPO = Path(__file__).resolve().parents[1]
#: Stratified cap on rows per ADBench dataset: the README's figures, the 7 largest sets capped to
#: fit a 2-core machine.
DEFAULT_MAX_ROWS = 20_000
#: Supervised peers of the 10%-labels table (``benchmarks.adbench``).
SUPERVISED_PEERS = ("LGB_unlabelled_as_0", "XGB_unlabelled_as_0", "CatB_unlabelled_as_0", "XGBOD")
#: Simulated card holders, terminals and days (``benchmarks.card_fraud.Simulation``'s defaults).
CUSTOMERS = 5000
TERMINALS = 10000
DAYS = 120


def run_parser() -> argparse.ArgumentParser:
    """``python -m benchmarks.run``."""
    parser = module_parser("benchmarks.run")
    parser.add_argument("--only", nargs="*", help="benchmark names to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for smoke tests")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("reports/bench.json"),
        help="JSON file for every table (default reports/bench.json)",
    )
    return parser


def adbench_parser() -> argparse.ArgumentParser:
    """``python -m benchmarks.adbench``."""
    parser = command_parser(
        "python -m benchmarks.adbench",
        "The ADBench protocol on the shared datasets: the project's "
        "detectors and scorers beside PyOD's and the paper's numbers; "
        "tables go under --out as CSV and Markdown.",
    )
    parser.add_argument("--datasets", nargs="*", default=None, help="default: all shared sets")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per dataset (default 3)")
    parser.add_argument(
        "--max-rows",
        type=int,
        default=DEFAULT_MAX_ROWS,
        help="stratified cap on rows per dataset, same for every method (0: none)",
    )
    parser.add_argument("--no-semi", action="store_true", help="skip the 10%%-labels table")
    parser.add_argument("--semi-only", action="store_true", help="only the 10%%-labels table")
    parser.add_argument(
        "--peers",
        nargs="*",
        default=list(SUPERVISED_PEERS),
        help=f"supervised peers of the 10%%-labels table (default: {SUPERVISED_PEERS})",
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "reports", help="report folder (default reports/)"
    )
    return parser


def odds_parser() -> argparse.ArgumentParser:
    """``python -m benchmarks.odds``."""
    parser = module_parser("benchmarks.odds")
    parser.add_argument(
        "--datasets", nargs="*", default=None, help="dataset names (default: every shared ODDS set)"
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds per dataset (default 3)")
    parser.add_argument(
        "--out", type=Path, default=REPO / "reports", help="report folder (default reports/)"
    )
    return parser


def card_fraud_parser() -> argparse.ArgumentParser:
    """``python -m benchmarks.card_fraud``."""
    parser = module_parser("benchmarks.card_fraud")
    parser.add_argument(
        "--customers",
        type=int,
        default=CUSTOMERS,
        help=f"simulated card holders (default {CUSTOMERS})",
    )
    parser.add_argument(
        "--terminals",
        type=int,
        default=TERMINALS,
        help=f"simulated terminals (default {TERMINALS})",
    )
    parser.add_argument(
        "--days",
        type=int,
        default=DAYS,
        help=f"days of payments (default {DAYS})",
    )
    parser.add_argument("--folds", type=int, default=4, help="train/delay/judge folds (default 4)")
    parser.add_argument("--k", type=int, default=100, help="cards checked per day (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="simulation and model seed")
    parser.add_argument("--methods", nargs="*", default=None, help="default: every method")
    parser.add_argument(
        "--out", type=Path, default=REPO / "reports", help="report folder (default reports/)"
    )
    return parser
