"""The argument parser of ``python -m serving.batch``, declared without importing it or any
heavy library, so ``supervision batch --help`` answers at once. :data:`ENGINES` is defined here,
its one home, and imported by ``serving.batch`` (which imports pandas)."""

from __future__ import annotations

import argparse
from pathlib import Path

from console.parsers import module_parser

#: Where a batch is scored (checked by ``serving.batch``).
ENGINES = ("local", "spark")


def batch_parser() -> argparse.ArgumentParser:
    """``python -m serving.batch``."""
    parser = module_parser("serving.batch")
    parser.add_argument("--scenario", required=True, help="the model whose champion scores")
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="local (pandas, one process) or spark (SUPERVISION_SPARK_*)",
    )
    parser.add_argument("--out", type=Path, required=True, help="the scores' Parquet file")
    parser.add_argument("--features", type=Path, help="feature table (Parquet)")
    parser.add_argument("--data", type=Path, help="pool root to build the features from")
    parser.add_argument("--model-uri", help="default: models:/supervision-<scenario>@champion")
    parser.add_argument("--tracking-uri", help="default: SUPERVISION_MLFLOW_URI or ./mlruns")
    return parser
