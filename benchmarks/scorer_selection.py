"""The evidence behind ``default_scorer``'s settings, on ADBench data where the truth is known.

Two setups, each on the ADBench 70/30 split, scored on the test rows against the true labels:

* **few labels**: 10% of the training anomalies labelled 1, everything else NaN (ADBench's
  semi-supervised setting). Compares LightGBM with/without the detector score as a feature and
  with/without a rank blend with the detector.
* **biased labels**: a crude rule flags the training rows in the top 10% of one feature (the
  feature whose rule alone best separates the anomalies, as a seasoned inspector's rule would);
  only flagged rows get their true label (1/0), all others are NaN. Compares ignoring the
  unlabelled rows, using them as weak negatives at several weights, and the blend.

Run: ``python -m benchmarks.scorer_selection --datasets cardio fault ...``.
"""

from __future__ import annotations

import argparse
import logging
import sys

import numpy as np
import pandas as pd

from benchmarks.adbench import cap_rows, load_adbench, partial_labels, split
from console import exits
from evaluation.metrics import precision_at_k, roc_auc
from training.detectors import default_detector
from training.scorers import LeadScorer

log = logging.getLogger(__name__)

FEW_LABEL_VARIANTS = {
    "detector_only": None,
    "lgb": dict(use_detector_feature=False, detector_blend=0.0),
    "lgb+det_feature": dict(use_detector_feature=True, detector_blend=0.0),
    "lgb+blend_auto": dict(use_detector_feature=False, detector_blend="auto"),
    "lgb+det_feature+blend_auto": dict(use_detector_feature=True, detector_blend="auto"),
    "lgb+det_feature+blend_0.3": dict(use_detector_feature=True, detector_blend=0.3),
}
BIAS_VARIANTS = {
    "detector_only": None,
    "labelled_only": dict(unlabelled_weight=0.0),
    "weak_neg_0.1": dict(unlabelled_weight=0.1),
    "weak_neg_0.5": dict(unlabelled_weight=0.5),
    "weak_neg_2": dict(unlabelled_weight=2.0),
    "weak_neg_0.5+blend0": dict(unlabelled_weight=0.5, detector_blend=0.0),
}


def crude_rule_labels(X: np.ndarray, y: np.ndarray, share: float = 0.1) -> np.ndarray:
    """True labels revealed only where a one-feature top-``share`` rule flags the row."""
    best, best_hits = 0, -1.0
    for j in range(X.shape[1]):
        flagged = X[:, j] >= np.quantile(X[:, j], 1 - share)
        hits = y[flagged].mean() if flagged.any() else 0.0
        if hits > best_hits:
            best, best_hits = j, hits
    flagged = X[:, best] >= np.quantile(X[:, best], 1 - share)
    return np.where(flagged, y.astype(float), np.nan)


def evaluate(name: str, seed: int, setup: str, max_rows: int) -> list[dict]:
    """All variants of one setup on one dataset and seed."""
    data = cap_rows(load_adbench(name), max_rows, seed)
    X_train, X_test, y_train, y_test = split(data, 0.3, seed)
    y = (
        partial_labels(y_train, 0.1, seed)
        if setup == "few"
        else crude_rule_labels(X_train, y_train)
    )
    detector = default_detector(random_state=seed).fit(X_train)
    variants = FEW_LABEL_VARIANTS if setup == "few" else BIAS_VARIANTS
    k = max(1, int(y_test.sum()))
    rows = []
    for variant, params in variants.items():
        if params is None:
            scores = detector.decision_function(X_test)
        else:
            # cv=1: no calibration folds; ranking is what is compared here
            model = LeadScorer(
                detector=detector, detector_prefit=True, random_state=seed, cv=1, **params
            )
            scores = model.fit(X_train, y).decision_function(X_test)
        rows.append(
            {
                "setup": setup,
                "dataset": name,
                "seed": seed,
                "variant": variant,
                "n_labelled": int(np.isfinite(y).sum()),
                "n_cases": int(np.nansum(y)),
                "aucroc": roc_auc(y_test, scores),
                "precision_at_n": precision_at_k(y_test, scores, k),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", nargs="+", required=True)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--max-rows", type=int, default=20_000)
    parser.add_argument("--out", default=None, help="CSV of all rows")
    args = parser.parse_args(argv)
    rows = []
    for name in args.datasets:
        for seed in range(args.seeds):
            for setup in ("few", "biased"):
                rows += evaluate(name, seed, setup, args.max_rows)
        log.info("%s done", name)
        if args.out:
            pd.DataFrame(rows).to_csv(args.out, index=False)
    frame = pd.DataFrame(rows)
    per_ds = frame.groupby(["setup", "variant", "dataset"])[["aucroc", "precision_at_n"]].mean()
    summary = per_ds.groupby(["setup", "variant"]).mean().round(4)
    pd.set_option("display.width", 200)
    print(summary.to_string())
    print(per_ds["aucroc"].unstack("dataset").round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(exits.run(main))
