"""The evidence behind ``default_detector``: which PyOD members and which score normalisation.

Run ``python -m benchmarks.detector_selection --out /tmp/selection`` to recompute it. Step 1 scores
every candidate member once per dataset and seed under the ADBench protocol (70/30 stratified
split, fit on train, score test; rows capped like the benchmark) and stores the train (reference)
and test scores. Step 2 evaluates every candidate ensemble offline from those stored scores:
member subsets x normalisations (train-ECDF, robust z, standard z) x combiners (mean, max,
average-of-maximum), and prints mean test AUCROC over the datasets, so the choice in
``training.detectors`` rests on one table rather than on taste.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from pyod.models.cblof import CBLOF
from pyod.models.copod import COPOD
from pyod.models.ecod import ECOD
from pyod.models.hbos import HBOS
from pyod.models.iforest import IForest
from pyod.models.knn import KNN
from pyod.models.lof import LOF
from pyod.models.pca import PCA
from sklearn.metrics import roc_auc_score

from benchmarks.adbench import adbench_names, cap_rows, load_adbench, split
from console import exits
from training.preprocess import RobustPreprocessor

log = logging.getLogger(__name__)

SUBSAMPLE = 2048


class Member(Protocol):
    """A PyOD detector as scored here: fitted on the train matrix, its train scores kept in
    ``decision_scores_`` (the reference a normalisation is fitted on), then the test scores."""

    decision_scores_: np.ndarray

    def fit(self, X: np.ndarray) -> object: ...

    def decision_function(self, X: np.ndarray) -> np.ndarray: ...


def candidate_members(seed: int) -> dict[str, tuple[Member, bool]]:
    """Candidate PyOD members: name -> (unfitted detector, fit on a subsample?)."""
    return {
        "iforest": (IForest(n_estimators=200, random_state=seed), False),
        "ecod": (ECOD(), False),
        "copod": (COPOD(), False),
        "hbos": (HBOS(), False),
        "pca": (PCA(n_components=0.999, random_state=seed), False),
        "knn": (KNN(n_neighbors=10, method="mean"), True),
        "lof": (LOF(n_neighbors=20), True),
        "cblof": (CBLOF(random_state=seed), True),
    }


def member_scores(X_train: np.ndarray, X_test: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Reference (train) and test scores of every candidate member, plus fit+score seconds."""
    prep = RobustPreprocessor(add_indicator=False).fit(X_train)
    Z_train, Z_test = prep.transform(X_train), prep.transform(X_test)
    rng = np.random.default_rng(seed)
    sub = rng.choice(len(Z_train), size=min(SUBSAMPLE, len(Z_train)), replace=False)
    out: dict[str, np.ndarray] = {}
    for name, (det, on_subsample) in candidate_members(seed).items():
        started = time.perf_counter()
        try:
            det.fit(Z_train[sub] if on_subsample else Z_train)
            ref = np.asarray(det.decision_scores_, dtype=np.float64)
            test = np.asarray(det.decision_function(Z_test), dtype=np.float64)
            if not (np.isfinite(ref).all() and np.isfinite(test).all()):
                raise ValueError("non-finite scores")
            out[f"{name}__ref"], out[f"{name}__test"] = ref, test
        except Exception as exc:  # a member failing on one dataset is itself evidence
            log.warning("%s failed: %s", name, exc)
            continue
        out[f"{name}__seconds"] = np.array([time.perf_counter() - started])
    return out


def compute_scores(out: Path, names: list[str], seeds: int, max_rows: int) -> None:
    """Step 1: store member scores per dataset and seed as ``<out>/<name>_<seed>.npz``."""
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        for seed in range(seeds):
            path = out / f"{name}_{seed}.npz"
            if path.exists():
                continue
            data = cap_rows(load_adbench(name), max_rows, seed)
            X_train, X_test, _, y_test = split(data, 0.3, seed)
            started = time.perf_counter()
            scores = member_scores(X_train, X_test, seed)
            # Any: numpy's stub checks savez's named arrays against its allow_pickle flag too
            arrays: dict[str, Any] = {"y_test": y_test, **scores}
            np.savez(path, **arrays)
            log.info("%s seed %s: %.1f s", name, seed, time.perf_counter() - started)


def normalise(ref: np.ndarray, test: np.ndarray, how: str) -> np.ndarray:
    """Put one member's test scores on a common scale learned from its train scores."""
    if how == "ecdf":
        return np.searchsorted(np.sort(ref), test, side="right") / len(ref)
    if how == "robust":
        med = np.median(ref)
        q75, q25 = np.percentile(ref, [75, 25])
        iqr = q75 - q25 if q75 > q25 else (np.std(ref) or 1.0)
        return (test - med) / iqr
    if how == "zscore":
        return (test - ref.mean()) / (ref.std() or 1.0)
    raise ValueError(f"unknown normalisation {how!r}")


def combine(cols: list[np.ndarray], how: str) -> np.ndarray:
    """Combine normalised member scores: mean, max, or average of maxima of two halves."""
    M = np.column_stack(cols)
    if how == "mean":
        return M.mean(axis=1)
    if how == "max":
        return M.max(axis=1)
    if how == "aom":
        halves = np.array_split(np.arange(M.shape[1]), 2)
        return np.mean([M[:, h].max(axis=1) for h in halves if len(h)], axis=0)
    raise ValueError(f"unknown combiner {how!r}")


def _normalised(out: Path) -> dict[str, dict]:
    """Load stored scores once and normalise every member three ways (the costly part)."""
    cache: dict[str, dict] = {}
    for f in sorted(out.glob("*.npz")):
        s = dict(np.load(f))
        members = [k.removesuffix("__test") for k in s if k.endswith("__test")]
        cache[f.stem] = {"y": s["y_test"]} | {
            (m, norm): normalise(s[f"{m}__ref"], s[f"{m}__test"], norm)
            for m in members
            for norm in ("ecdf", "robust", "zscore")
        }
    return cache


def per_config_auc(
    out: Path, members: list[str], min_size: int = 1, max_size: int = 5
) -> pd.DataFrame:
    """Test AUCROC (mean over seeds) of every subset x normalisation x combiner, per dataset.

    Rows: configurations ``members|norm|comb``; columns: datasets. Configurations a member
    failed on for some dataset get NaN there.
    """
    cache = _normalised(out)
    rows = {}
    for size in range(min_size, max_size + 1):
        for subset in itertools.combinations(members, size):
            for norm, comb in itertools.product(("ecdf", "robust", "zscore"), ("mean", "max")):
                if size == 1 and (norm, comb) != ("ecdf", "mean"):
                    continue
                aucs = {
                    key: roc_auc_score(c["y"], combine([c[(m, norm)] for m in subset], comb))
                    for key, c in cache.items()
                    if all((m, norm) in c for m in subset)
                }
                per_dataset = pd.Series(aucs).groupby(lambda k: k.rsplit("_", 1)[0]).mean()
                rows[f"{'+'.join(subset)}|{norm}|{comb}"] = per_dataset
    return pd.DataFrame(rows).T


def evaluate(out: Path, members: list[str], min_size: int = 1, max_size: int = 5) -> pd.DataFrame:
    """Step 2: mean test AUCROC of every member subset x normalisation x combiner."""
    matrix = per_config_auc(out, members, min_size, max_size)
    parts = matrix.index.to_series().str.split("|", expand=True)
    return (
        pd.DataFrame(
            {
                "members": parts[0],
                "norm": parts[1],
                "comb": parts[2],
                "n_datasets": matrix.notna().sum(axis=1),
                "mean_aucroc": matrix.mean(axis=1),
            }
        )
        .sort_values("mean_aucroc", ascending=False)
        .reset_index(drop=True)
    )


def leave_one_dataset_out(
    matrix: pd.DataFrame, groups: dict[str, str] | None = None
) -> pd.DataFrame:
    """The honest figure: for each dataset, the configuration chosen on the *other* datasets.

    ``matrix`` is :func:`per_config_auc`'s table. For every held-out dataset the configuration
    with the best mean AUCROC over the remaining ones (only those in the held-out set's group
    when ``groups`` maps datasets to a group such as "low-dimensional") is chosen and its
    AUCROC on the held-out set recorded. Configurations with a NaN anywhere are skipped.
    """
    complete = matrix.dropna(axis=0)
    rows = []
    for held_out in complete.columns:
        others = [
            c
            for c in complete.columns
            if c != held_out and (groups is None or groups[c] == groups[held_out])
        ]
        chosen = complete[others].mean(axis=1).idxmax()
        rows.append(
            {"dataset": held_out, "chosen": chosen, "aucroc": float(complete.loc[chosen, held_out])}
        )
    return pd.DataFrame(rows).set_index("dataset")


def per_dataset_table(out: Path, choices: dict[str, tuple[list[str], str, str]]) -> pd.DataFrame:
    """AUCROC per dataset (mean over seeds) for a few named choices, for the report."""
    stored = {f.stem: dict(np.load(f)) for f in sorted(out.glob("*.npz"))}
    table: dict[str, dict[str, float]] = {}
    for label, (subset, norm, comb) in choices.items():
        vals = {}
        for key, s in stored.items():
            cols = [normalise(s[f"{m}__ref"], s[f"{m}__test"], norm) for m in subset]
            vals[key] = roc_auc_score(s["y_test"], combine(cols, comb))
        table[label] = pd.Series(vals).groupby(lambda k: k.rsplit("_", 1)[0]).mean()
    return pd.DataFrame(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="folder for stored scores")
    parser.add_argument("--datasets", nargs="*", default=None)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-rows", type=int, default=50_000)
    parser.add_argument("--max-size", type=int, default=4)
    parser.add_argument("--skip-scoring", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_scoring:
        compute_scores(args.out, args.datasets or adbench_names(), args.seeds, args.max_rows)
    members = list(candidate_members(0))
    matrix = per_config_auc(args.out, members, max_size=args.max_size)
    table = evaluate(args.out, members, max_size=args.max_size)
    pd.set_option("display.width", 200)
    print(table.head(40).to_string(index=False))
    print(table[table["members"].str.count(r"\+") == 0].to_string(index=False))
    lodo = leave_one_dataset_out(matrix)
    print("\nleave-one-dataset-out (configuration chosen on the other datasets):")
    print(lodo.round(4).to_string())
    print(
        f"mean held-out AUCROC {lodo['aucroc'].mean():.4f} vs IForest "
        f"{matrix.loc['iforest|ecdf|mean', lodo.index].mean():.4f} on the same "
        f"{len(lodo)} datasets"
    )
    return 0


if __name__ == "__main__":
    sys.exit(exits.run(main))
