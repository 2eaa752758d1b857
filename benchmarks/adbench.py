"""Loading the public anomaly-detection benchmarks kept in ``../shared/benchmarks``.

Read-only: the shared folder is never written. Its location is ``<repo>/../shared`` unless the
environment variable ``SUPERVISION_SHARED`` points elsewhere.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import scipy.io
from pyod.models.copod import COPOD
from pyod.models.ecod import ECOD
from pyod.models.hbos import HBOS
from pyod.models.iforest import IForest
from sklearn.model_selection import train_test_split

from benchmarks.cli_args import DEFAULT_MAX_ROWS, REPO, SUPERVISED_PEERS, adbench_parser
from console import exits
from evaluation.metrics import average_precision, hits_at_k, roc_auc
from settings import get_settings
from training.detectors import default_detector
from training.scorers import default_scorer

log = logging.getLogger(__name__)


def shared_root() -> Path:
    """Where the shared reference folder lives (env ``SUPERVISION_SHARED`` overrides)."""
    return get_settings().supervision_shared or REPO.parent / "shared"


def adbench_dir() -> Path:
    """Folder of the ADBench ``.npz`` files."""
    return shared_root() / "benchmarks" / "adbench"


def odds_dir() -> Path:
    """Folder of the ODDS ``.mat`` files and PyOD's published tables."""
    return shared_root() / "benchmarks" / "odds"


@dataclass(frozen=True)
class Dataset:
    """One benchmark dataset: features, labels (1 = anomaly) and its name."""

    name: str
    X: np.ndarray
    y: np.ndarray


def adbench_manifest() -> pd.DataFrame:
    """The MANIFEST.csv of the ADBench folder (file, name, n, d, anomaly ratio...)."""
    path = adbench_dir() / "MANIFEST.csv"
    if not path.exists():
        raise FileNotFoundError(f"ADBench manifest not found at {path}; set SUPERVISION_SHARED")
    return pd.read_csv(path)


def adbench_names() -> list[str]:
    """Dataset names in the shared ADBench folder, smallest first (cheap ones run first)."""
    return adbench_manifest().sort_values("n")["name"].astype(str).tolist()


def load_adbench(name: str) -> Dataset:
    """Load one ADBench dataset by its name (e.g. ``cardio``)."""
    manifest = adbench_manifest()
    row = manifest[manifest["name"].astype(str).str.lower() == name.lower()]
    if row.empty:
        known = ", ".join(manifest["name"].astype(str))
        raise KeyError(f"unknown ADBench dataset {name!r}; known: {known}")
    with np.load(adbench_dir() / str(row["file"].iloc[0])) as data:
        return Dataset(
            str(row["name"].iloc[0]), data["X"].astype(np.float64), data["y"].astype(int)
        )


def odds_names() -> list[str]:
    """Dataset names of the shared ODDS folder, smallest first."""
    manifest = pd.read_csv(odds_dir() / "MANIFEST.csv")
    return [f.removesuffix(".mat") for f in manifest.sort_values("n")["file"]]


def load_odds(name: str) -> Dataset:
    """Load one ODDS ``.mat`` dataset (``X``, ``y`` with y an n x 1 column)."""
    path = odds_dir() / "mat" / f"{name}.mat"
    if not path.exists():
        raise KeyError(f"unknown ODDS dataset {name!r}; known: {', '.join(odds_names())}")
    mat = scipy.io.loadmat(path)
    return Dataset(name, np.asarray(mat["X"], dtype=np.float64), np.ravel(mat["y"]).astype(int))


def cap_rows(data: Dataset, max_rows: int | None, seed: int) -> Dataset:
    """A stratified random subsample of at most ``max_rows`` rows (all rows if already smaller).

    Why: the largest sets (donors 619k, http 567k rows) would take most of the benchmark budget
    on 2 shared cores; capping every method at the same rows keeps the comparison fair.
    """
    if max_rows is None or len(data.y) <= max_rows:
        return data
    keep, _ = train_test_split(
        np.arange(len(data.y)), train_size=max_rows, stratify=data.y, random_state=seed
    )
    keep = np.sort(keep)
    return Dataset(data.name, data.X[keep], data.y[keep])


def split(
    data: Dataset, test_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stratified train/test split (ADBench: 30% test; PyOD's ODDS benchmark: 40%)."""
    return train_test_split(data.X, data.y, test_size=test_size, stratify=data.y, random_state=seed)


# ---- the ADBench protocol, side by side with the paper ------------------------------------

PYOD_BASELINES = ("IForest", "ECOD", "COPOD", "HBOS")
QUICK_DATASETS = ("Stamps", "WDBC", "cardio")


class Detector(Protocol):
    """An unsupervised method as run here (PyOD's and the project's): ``fit`` on the training
    matrix, then higher = more anomalous from ``decision_function``."""

    def fit(self, X: np.ndarray) -> object: ...

    def decision_function(self, X: np.ndarray) -> np.ndarray: ...


class Supervised(Protocol):
    """A method that learns from (partial) labels: ``fit(X, y)``, then ``decision_function``."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> object: ...

    def decision_function(self, X: np.ndarray) -> np.ndarray: ...


def unsupervised_methods() -> dict[str, Callable[[int], Detector]]:
    """Method name -> factory(seed): the project's detector and PyOD's defaults on raw X."""
    return {
        "default_detector": lambda seed: default_detector(random_state=seed),
        "IForest": lambda seed: IForest(random_state=seed),
        "ECOD": lambda seed: ECOD(),
        "COPOD": lambda seed: COPOD(),
        "HBOS": lambda seed: HBOS(),
    }


def _timed_scores(
    model: Detector, X_train: np.ndarray, X_test: np.ndarray
) -> tuple[np.ndarray, float]:
    """Test scores of ``model`` fitted on the training split, and the seconds both took."""
    started = time.perf_counter()
    model.fit(X_train)
    scores = np.asarray(model.decision_function(X_test), dtype=np.float64)
    return scores, time.perf_counter() - started


def _timed_supervised_scores(
    model: Supervised, X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray
) -> tuple[np.ndarray, float]:
    """As :func:`_timed_scores`, fitted on the training split's (partial) labels."""
    started = time.perf_counter()
    model.fit(X_train, y_train)
    scores = np.asarray(model.decision_function(X_test), dtype=np.float64)
    return scores, time.perf_counter() - started


def run_unsupervised(
    data: Dataset,
    seeds: int,
    test_size: float = 0.3,
    methods: dict[str, Callable[[int], Detector]] | None = None,
) -> list[dict]:
    """Fit each method on the train split, score the test split; one row per method and seed."""
    rows = []
    for seed in range(seeds):
        X_train, X_test, _, y_test = split(data, test_size, seed)
        for method, factory in (methods or unsupervised_methods()).items():
            scores, seconds = _timed_scores(factory(seed), X_train, X_test)
            n_out = int(y_test.sum())
            rows.append(
                {
                    "dataset": data.name,
                    "method": method,
                    "seed": seed,
                    "aucroc": roc_auc(y_test, scores),
                    "aucpr": average_precision(y_test, scores),
                    "precision_at_n": hits_at_k(y_test, scores, n_out) / n_out,
                    "seconds": seconds,
                }
            )
    return rows


def partial_labels(y_train: np.ndarray, share: float, seed: int) -> np.ndarray:
    """ADBench's semi-supervised setting: ``share`` of training anomalies labelled 1, rest NaN."""
    rng = np.random.default_rng(seed)
    anomalies = np.flatnonzero(y_train == 1)
    chosen = rng.choice(anomalies, size=max(1, round(share * len(anomalies))), replace=False)
    y = np.full(len(y_train), np.nan)
    y[chosen] = 1.0
    return y


def supervised_methods(
    peers: Sequence[str] = SUPERVISED_PEERS,
) -> dict[str, Callable[[int], Supervised]]:
    """The project's scorer and the paper's supervised peers, in the same run.

    Every peer sees the same partial labels with NaN taken as 0 (ADBench's setting for its
    supervised rows): plain LightGBM, XGBoost and CatBoost with their default settings, and
    PyOD's XGBOD (XGBoost on the features plus unsupervised detectors' scores).
    """
    factories: dict[str, Callable[[int], Supervised]] = {
        "LGB_unlabelled_as_0": lambda seed: _UnlabelledAsZero("lgb", seed),
        "XGB_unlabelled_as_0": lambda seed: _UnlabelledAsZero("xgb", seed),
        "CatB_unlabelled_as_0": lambda seed: _UnlabelledAsZero("catboost", seed),
        "XGBOD": lambda seed: _UnlabelledAsZero("xgbod", seed),
    }
    unknown = sorted(set(peers) - set(factories))
    if unknown:
        raise ValueError(f"unknown supervised peers {unknown}; known: {sorted(factories)}")
    return {"default_scorer": lambda seed: default_scorer(random_state=seed)} | {
        name: factories[name] for name in peers
    }


class _UnlabelledAsZero:
    """A supervised peer with its default settings, NaN labels taken as 0 (ADBench's rows)."""

    def __init__(self, kind: str, seed: int) -> None:
        if kind == "lgb":
            import lightgbm as lgb

            self.model = lgb.LGBMClassifier(random_state=seed, verbose=-1, n_jobs=1)
        elif kind == "xgb":
            import xgboost as xgb

            self.model = xgb.XGBClassifier(random_state=seed, n_jobs=1, verbosity=0)
        elif kind == "catboost":
            from catboost import CatBoostClassifier

            self.model = CatBoostClassifier(
                random_seed=seed, thread_count=1, verbose=False, allow_writing_files=False
            )
        elif kind == "xgbod":
            from pyod.models.xgbod import XGBOD

            self.model = XGBOD(random_state=seed, n_jobs=1)
        else:
            raise ValueError(f"unknown peer kind {kind!r}")
        self.kind = kind

    def fit(self, X: np.ndarray, y: np.ndarray) -> _UnlabelledAsZero:
        y = np.nan_to_num(np.asarray(y, dtype=np.float64), nan=0.0).astype(int)
        if self.kind == "xgbod":  # PyOD's detectors need scaled, finite input
            from sklearn.preprocessing import StandardScaler

            self.scaler = StandardScaler().fit(X)
            X = self.scaler.transform(X)
        self.model.fit(X, y)
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        if self.kind == "xgbod":
            return np.asarray(self.model.decision_function(self.scaler.transform(X)))
        return np.asarray(self.model.predict_proba(X))[:, 1]


def run_semisupervised(
    data: Dataset,
    seeds: int,
    share: float = 0.1,
    test_size: float = 0.3,
    peers: Sequence[str] = SUPERVISED_PEERS,
) -> list[dict]:
    """``share`` of training anomalies labelled; each supervised method scored on the test split."""
    rows = []
    for seed in range(seeds):
        X_train, X_test, y_train, y_test = split(data, test_size, seed)
        y_partial = partial_labels(y_train, share, seed)
        for method, factory in supervised_methods(peers).items():
            scores, seconds = _timed_supervised_scores(factory(seed), X_train, y_partial, X_test)
            rows.append(
                {
                    "dataset": data.name,
                    "method": method,
                    "seed": seed,
                    "aucroc": roc_auc(y_test, scores),
                    "aucpr": average_precision(y_test, scores),
                    "seconds": seconds,
                }
            )
    return rows


def published(table: str) -> pd.DataFrame:
    """One of the paper's tables (e.g. "unsupervised_aucroc_tableD4"), values in [0, 1]."""
    folder = shared_root() / "benchmarks" / "adbench_published"
    matches = sorted(folder.glob(f"adbench_*{table}*.csv"))
    if not matches:
        raise FileNotFoundError(f"no published ADBench table matching {table!r} in {folder}")
    frame = pd.read_csv(matches[0], na_values=["N/A"]).set_index("dataset")
    return frame.apply(pd.to_numeric, errors="coerce") / 100.0


def side_by_side(
    rows: list[dict], paper_roc: pd.DataFrame, paper_pr: pd.DataFrame, paper_methods: Sequence[str]
) -> pd.DataFrame:
    """Per dataset: mean over seeds of each method's AUCROC/AUCPR/time, then the paper's values."""
    frame = pd.DataFrame(rows)
    mean = frame.groupby(["dataset", "method"])[["aucroc", "aucpr", "seconds"]].mean().unstack()
    mean.columns = [f"{metric}:{method}" for metric, method in mean.columns]
    for method in paper_methods:
        mean[f"paper_aucroc:{method}"] = paper_roc.reindex(mean.index)[method]
        mean[f"paper_aucpr:{method}"] = paper_pr.reindex(mean.index)[method]
    order = [n for n in adbench_names() if n in mean.index]
    table = mean.loc[order]
    table.loc["MEAN"] = table.mean(numeric_only=True)
    return table


def run_protocol(
    names: Sequence[str],
    seeds: int = 3,
    max_rows: int | None = DEFAULT_MAX_ROWS,
    semi: bool = True,
    unsupervised: bool = True,
    peers: Sequence[str] = SUPERVISED_PEERS,
    progress: Path | None = None,
) -> dict[str, pd.DataFrame]:
    """Both ADBench tables (unsupervised vs D4/D5, 10% labels vs D10/D11) for ``names``.

    ``progress``: a folder where the raw rows so far are rewritten after every dataset, so a
    long run that is stopped still leaves its measurements.
    """
    unsup, semisup = [], []
    for name in names:
        data = cap_rows(load_adbench(name), max_rows, seed=0)
        if unsupervised:
            unsup += run_unsupervised(data, seeds)
        if semi:
            semisup += run_semisupervised(data, seeds, peers=peers)
        if progress is not None:
            progress.mkdir(parents=True, exist_ok=True)
            for key, rows in (("unsupervised", unsup), ("labels10pct", semisup)):
                if rows:
                    pd.DataFrame(rows).to_csv(progress / f"adbench_partial_{key}.csv", index=False)
        log.info("adbench %s: done", name)
    tables = {}
    if unsupervised:
        tables["unsupervised"] = side_by_side(
            unsup, published("aucroc_tableD4"), published("aucpr_tableD5"), PYOD_BASELINES
        )
        tables["raw_unsupervised"] = pd.DataFrame(unsup)
    if semi:
        tables["labels10pct"] = side_by_side(
            semisup,
            published("aucroc_gamma10pct_tableD10"),
            published("aucpr_gamma10pct_tableD11"),
            ("LGB", "XGBOD", "DevNet", "CatB"),
        )
        tables["raw_labels10pct"] = pd.DataFrame(semisup)
    return tables


def below_peer(
    table: pd.DataFrame,
    method: str = "default_scorer",
    peer: str = "LGB_unlabelled_as_0",
    margin: float = 0.05,
) -> pd.DataFrame:
    """Datasets where ``method``'s AUCROC is more than ``margin`` below ``peer``'s (same run)."""
    gap = table[f"aucroc:{method}"] - table[f"aucroc:{peer}"]
    flagged = table.loc[
        (gap < -margin) & (table.index != "MEAN"), [f"aucroc:{method}", f"aucroc:{peer}"]
    ]
    return flagged.assign(gap=gap[flagged.index])


def markdown(table: pd.DataFrame, digits: int = 4) -> str:
    """A GitHub Markdown table (no extra dependency)."""
    header = [str(table.index.name or "")] + [str(c) for c in table.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for idx, row in table.iterrows():
        cells = [f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join([str(idx), *cells]) + " |")
    return "\n".join(lines) + "\n"


def write_reports(tables: dict[str, pd.DataFrame], out: Path, prefix: str) -> None:
    """CSV and Markdown of every table under ``out`` (created on demand, never at import)."""
    out.mkdir(parents=True, exist_ok=True)
    for key, table in tables.items():
        table.to_csv(out / f"{prefix}_{key}.csv")
        if not key.startswith("raw_"):
            (out / f"{prefix}_{key}.md").write_text(markdown(table))


def main(argv: list[str] | None = None) -> int:
    parser = adbench_parser()
    args = parser.parse_args(argv)
    tables = run_protocol(
        args.datasets or adbench_names(),
        args.seeds,
        args.max_rows or None,
        semi=not args.no_semi,
        unsupervised=not args.semi_only,
        peers=args.peers,
        progress=args.out,
    )
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 40)
    for key, table in tables.items():
        if not key.startswith("raw_"):
            print(
                f"\n== ADBench {key} (mean of {args.seeds} seeds; rows capped at {args.max_rows})"
            )
            print(table.round(4).to_string())
    if "labels10pct" in tables:
        flagged = below_peer(tables["labels10pct"])
        print("\nsets where the scorer is > 5 points below plain LightGBM (AUCROC):")
        print(flagged.round(4).to_string() if len(flagged) else "none")
    write_reports(tables, args.out, "adbench")
    return 0


if __name__ == "__main__":
    sys.exit(exits.run(main))
