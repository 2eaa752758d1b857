"""The ODDS datasets under PyOD's benchmark protocol, next to PyOD's published table.

PyOD's documentation benchmark (2019): 60% train / 40% test random split, inputs standardised
on the training split, ROC AUC and precision @ n (n = number of outliers in the test split),
mean of 10 trials. Here: the same split and standardisation (stratified, so every test split
has outliers), fewer seeds (``--seeds``, default 3) to fit the shared machine; the table says so.

Run: ``python -m benchmarks.odds [--datasets ...] [--seeds 3]``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

from benchmarks.adbench import (
    Dataset,
    Detector,
    load_odds,
    markdown,
    odds_dir,
    odds_names,
    run_unsupervised,
    unsupervised_methods,
)
from benchmarks.cli_args import odds_parser
from console import exits

log = logging.getLogger(__name__)

QUICK_DATASETS = ("wbc", "lympho", "vertebral")


class Standardised:
    """A detector fed z-scored inputs (scaler fitted on the training split), as PyOD's benchmark."""

    def __init__(self, model: Detector) -> None:
        self.model = model

    def fit(self, X: np.ndarray) -> Standardised:
        self.scaler = StandardScaler().fit(X)
        self.model.fit(self.scaler.transform(X))
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return self.model.decision_function(self.scaler.transform(X))


def standardised_methods() -> dict[str, Callable[[int], Detector]]:
    """Every unsupervised method of the ADBench run, behind a train-fitted standard scaler."""
    return {name: _standardised(factory) for name, factory in unsupervised_methods().items()}


def _standardised(factory: Callable[[int], Detector]) -> Callable[[int], Detector]:
    return lambda seed: Standardised(factory(seed))


def published_pyod(metric: str, year: str = "docs_2019") -> pd.DataFrame:
    """PyOD's published table: metric "roc", "prc" (precision @ n) or "time"."""
    path = odds_dir() / "pyod_published" / f"pyod_{year}_{metric}.csv"
    return pd.read_csv(path).set_index("Data")


def side_by_side(rows: list[dict]) -> pd.DataFrame:
    """Per dataset: our ROC AUC, precision@n and seconds per method, then PyOD's published ones."""
    frame = pd.DataFrame(rows)
    mean = frame.groupby(["dataset", "method"])[["aucroc", "precision_at_n", "seconds"]].mean()
    table = mean.unstack()
    table.columns = [f"{metric}:{method}" for metric, method in table.columns]
    roc, prn = published_pyod("roc"), published_pyod("prc")
    roc24, prn24 = published_pyod("roc", "notebooks_2024"), published_pyod("prc", "notebooks_2024")
    for method in ("IForest", "HBOS", "KNN", "LOF"):
        table[f"pyod2019_roc:{method}"] = roc.reindex(table.index)[method]
        table[f"pyod2019_prn:{method}"] = prn.reindex(table.index)[method]
    for method in ("ECOD", "COPOD"):
        table[f"pyod2024_roc:{method}"] = roc24.reindex(table.index)[method]
        table[f"pyod2024_prn:{method}"] = prn24.reindex(table.index)[method]
    table = table.loc[[n for n in odds_names() if n in table.index]]
    table.loc["MEAN"] = table.mean(numeric_only=True)
    return table


def run_protocol(names: Sequence[str], seeds: int = 3) -> pd.DataFrame:
    """All methods on the named ODDS sets (60/40 split, standardised), as one table."""
    rows: list[dict] = []
    for name in names:
        data: Dataset = load_odds(name)
        rows += run_unsupervised(data, seeds, test_size=0.4, methods=standardised_methods())
        log.info("odds %s: done", name)
    return side_by_side(rows)


def main(argv: list[str] | None = None) -> int:
    parser = odds_parser()
    args = parser.parse_args(argv)
    table = run_protocol(args.datasets or odds_names(), args.seeds)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 40)
    print(f"== ODDS (60/40, standardised, mean of {args.seeds} seeds)")
    print(table.round(4).to_string())
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "odds.csv")
    (args.out / "odds.md").write_text(markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(exits.run(main))
