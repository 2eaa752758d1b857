"""``bid_rigging``: average precision with tender-grouped folds, scorer vs the authors' screens.

Real data (García Rodríguez et al. 2022): one row per bid, labelled collusive or not by the
competition authorities. Folds are grouped by tender (a tender's bids never straddle train and
test, or the screens, which are per tender, would leak). Compared on the same folds:

* ``logit_authors_screens``: logistic regression on the authors' own per-tender screens
  (CV, SPD, DIFFP, RD, KURT, SKEW, KSTEST) plus the country, the paper's baseline shape;
* ``default_scorer``: the project's scorer on the features pipeline's columns (own screens and
  bidder history), trained on the training folds' labels;
* ``default_detector``: unsupervised, for reference.

Run: ``python -m training.bid_rigging_eval [--folds 5]``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from evaluation.metrics import average_precision, precision_at_k, roc_auc
from training.scorers import default_scorer


def bid_table(data: str | None = None) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Our feature table joined with the authors' screens: (frame, our features, their screens);
    the declared country files are imported into ``data`` first if they changed."""
    from features.build import build_features
    from models.bid_rigging.procurement import SCREENS, authors_screens
    from pool.importer import ensure_imported

    ensure_imported("bid_rigging", data)
    table = build_features("bid_rigging", None, data)
    frame = table.frame.copy()
    frame["tender_id"] = frame["entity_id"].astype(str).str.rsplit(":", n=1).str[0]
    frame["country"] = frame["tender_id"].str.split(":").str[0]
    theirs = authors_screens().drop(columns="country")
    frame = frame.merge(theirs, on="tender_id", how="left", validate="many_to_one")
    countries = pd.get_dummies(frame["country"], prefix="country", dtype=float)
    frame = pd.concat([frame, countries], axis=1)
    return frame, table.feature_names, [*SCREENS, *countries.columns]


def grouped_scores(frame: pd.DataFrame, ours: list[str], theirs: list[str], folds: int,
                   seed: int = 0) -> dict[str, np.ndarray]:
    """Out-of-fold scores of each method, folds grouped by tender."""
    y = frame["label"].to_numpy(dtype=float)
    out = {name: np.zeros(len(frame)) for name in
           ("logit_authors_screens", "default_scorer", "default_detector")}
    for train, test in GroupKFold(n_splits=folds).split(frame, y, frame["tender_id"]):
        logit = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                              LogisticRegression(max_iter=2000))
        logit.fit(frame.iloc[train][theirs], y[train])
        out["logit_authors_screens"][test] = logit.predict_proba(frame.iloc[test][theirs])[:, 1]
        scorer = default_scorer(seed).fit(frame.iloc[train][ours], y[train])
        out["default_scorer"][test] = scorer.decision_function(frame.iloc[test][ours])
        out["default_detector"][test] = scorer.detector_.decision_function(frame.iloc[test][ours])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    frame, ours, theirs = bid_table()
    frame = frame[frame["label"].notna()].reset_index(drop=True)
    scores = grouped_scores(frame, ours, theirs, args.folds)
    y = frame["label"].to_numpy(dtype=int)
    rows = []
    for name, s in scores.items():
        row = {"method": name, "average_precision": average_precision(y, s),
               "roc_auc": roc_auc(y, s), "precision@100": precision_at_k(y, s, 100)}
        for country, part in frame.groupby("country"):
            row[f"ap_{country}"] = average_precision(y[part.index], s[part.index])
        rows.append(row)
    print(f"bids {len(frame)}, tenders {frame['tender_id'].nunique()}, "
          f"collusive share {y.mean():.3f}, {args.folds} tender-grouped folds")
    print(pd.DataFrame(rows).round(4).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
