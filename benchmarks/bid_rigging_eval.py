"""``bid_rigging``: tender-grouped folds and leave-one-country-out, scorer vs the authors' screens.

Real data (García Rodríguez et al. 2022): one row per bid, labelled collusive or not by the
competition authorities. Two protocols, every method on the same splits:

* **tender-grouped folds** (a tender's bids never straddle train and test, or the screens, which
  are per tender, would leak): average precision overall and within each country;
* **leave-one-country-out**: train on five countries, score the sixth, ROC AUC and AP there (how
  a model built in one jurisdiction transfers to another; country dummies are left out, the
  held-out country has none).

Methods: ``default_scorer`` (the project's scorer, with the declared directions, on the
features pipeline's columns), ``default_detector`` (unsupervised, directions declared, fitted on
the scored rows' own country: it needs no labels; it sees the declared within-district ranks,
``detector_absolute`` is the same detector on the absolute values), and on the authors' own per-tender screens
(CV, SPD, DIFFP, RD, KURT, SKEW, KSTEST) a logistic regression and gradient boosting, the
paper's baseline shapes; gradient boosting on our columns is there too, so a gain can be told
apart from a gain of features.

Run: ``python -m benchmarks.bid_rigging_eval [--folds 5]``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from console import exits
from evaluation.metrics import average_precision, precision_at_k, roc_auc
from features.build import build_features
from features.registry import get
from features.spec import FeatureSpec
from models.bid_rigging.procurement import SCREENS, authors_screens
from pool.importer import ensure_imported
from training.detectors import default_detector
from training.relative import RelativeDetector, declared_relative_to
from training.scorers import LeadScorer, default_scorer


class SupervisedModel(Protocol):
    """An unfitted supervised model as compared here: ``fit(X, y)`` on a frame and 0/1 labels
    (scored afterwards by ``_score``: ``decision_function`` for the project's scorer,
    ``predict_proba`` for the scikit-learn baselines)."""

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> object: ...


def declared_specs() -> tuple[FeatureSpec, ...]:
    """The bid_rigging feature declarations."""
    return tuple(get("bid_rigging").features)


def declared_directions() -> dict[str, str]:
    """The suspicious side each bid_rigging feature declares ("high", "low" or "both")."""
    return {spec.name: spec.direction for spec in declared_specs()}


def bid_table(data_root: Path | None = None) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Our feature table joined with the authors' screens: (frame, our features, their screens).

    ``their screens`` are the authors' seven screens; the country dummies are separate columns
    named ``country_*``. The declared country files are imported into ``data_root`` first if
    they changed.
    """
    ensure_imported("bid_rigging", data_root)
    table = build_features("bid_rigging", None, data_root)
    frame = table.frame.copy()
    frame["tender_id"] = frame["entity_id"].astype(str).str.rsplit(":", n=1).str[0]
    frame["country"] = frame["tender_id"].str.split(":").str[0]
    theirs = authors_screens().drop(columns="country")
    frame = frame.merge(theirs, on="tender_id", how="left", validate="many_to_one")
    countries = pd.get_dummies(frame["country"], prefix="country", dtype=float)
    frame = pd.concat([frame, countries], axis=1)
    return frame, table.feature_names, list(SCREENS)


def _logit() -> SupervisedModel:
    return make_pipeline(
        SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=2000)
    )


def _gb(seed: int) -> SupervisedModel:
    return HistGradientBoostingClassifier(random_state=seed)


def supervised(
    ours: list[str], theirs: list[str], seed: int
) -> dict[str, tuple[list[str], Callable[[], SupervisedModel]]]:
    """Method name -> (columns, factory of an unfitted model with ``fit``/``predict_proba``)."""
    directions = declared_directions()
    return {
        "default_scorer": (ours, lambda: default_scorer(seed, directions=directions)),
        "logit_authors_screens": (theirs, _logit),
        "gb_authors_screens": (theirs, lambda: _gb(seed)),
        "gb_our_features": (ours, lambda: _gb(seed)),
    }


def _score(model: SupervisedModel, X: pd.DataFrame) -> np.ndarray:
    """Higher = more suspicious: the project's scorer ranks with ``decision_function``, the
    scikit-learn baselines with the positive class's probability."""
    if isinstance(model, LeadScorer):
        return np.asarray(model.decision_function(X), dtype=float)
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X)[:, 1], dtype=float)
    raise TypeError(f"{type(model).__name__} has neither decision_function nor predict_proba")


def grouped_scores(
    frame: pd.DataFrame, ours: list[str], theirs: list[str], folds: int, seed: int = 0
) -> dict[str, np.ndarray]:
    """Out-of-fold scores of each supervised method, folds grouped by tender.

    Here the country dummies join the authors' screens (the paper's pooled model knows the
    country); ``default_detector`` is fitted per country on all its rows (no labels used).
    """
    y = frame["label"].to_numpy(dtype=float)
    dummies = [c for c in frame.columns if c.startswith("country_")]
    methods = supervised(ours, [*theirs, *dummies], seed)
    out = {name: np.zeros(len(frame)) for name in methods}
    for train, test in GroupKFold(n_splits=folds).split(frame, y, frame["tender_id"]):
        for name, (columns, factory) in methods.items():
            model = factory()
            model.fit(frame.iloc[train][columns], y[train])
            out[name][test] = _score(model, frame.iloc[test][columns])
    out["default_detector"] = detector_per_country(frame, ours, seed)
    out["detector_absolute"] = detector_per_country(frame, ours, seed, relative=False)
    return out


def detector_per_country(
    frame: pd.DataFrame, ours: list[str], seed: int = 0, relative: bool = True
) -> np.ndarray:
    """The direction-aware detector fitted and scored within each country (unsupervised).

    It sees the declared detector view (``features.relative.relative_view``: features declaring
    ``relative_to`` as within-district ranks); ``relative=False`` gives it the absolute values,
    the same-run baseline of that declaration.
    """
    scores = np.zeros(len(frame))
    for _, part in frame.groupby("country"):
        detector = _detector(ours, seed, relative).fit(part)
        scores[part.index] = detector.decision_function(part)
    return scores


def _detector(ours: list[str], seed: int, relative: bool) -> RelativeDetector:
    """The direction-aware detector on the declared view (``training.relative``: the ranks are
    fitted on the training rows, so on them they equal ``features.relative.relative_view``);
    ``relative=False``: the same detector on the absolute values."""
    specs = [s for s in declared_specs() if s.name in ours]
    directions = {s.name: s.direction for s in specs}
    relative_to = declared_relative_to(specs) if relative else {}
    return RelativeDetector(default_detector(directions=directions), ours, relative_to, None, seed)


def detector_transfer(frame: pd.DataFrame, ours: list[str], seed: int = 0) -> pd.DataFrame:
    """The detector fitted on the other countries' bids, scoring the held-out one: ROC AUC and
    AP per country. Its bids fall in a group (country) unseen in training, so they are ranked
    against the pooled training values (``training.relative.RelativeRanks``' rule)."""
    y = frame["label"].to_numpy(dtype=float)
    rows = []
    for country, test in frame.groupby("country").groups.items():
        train = frame.index.difference(test)
        for name, relative in (("default_detector", True), ("detector_absolute", False)):
            detector = _detector(ours, seed, relative).fit(frame.loc[train])
            rows.append(
                _held_out(name, country, y[test], detector.decision_function(frame.loc[test]))
            )
    return pd.DataFrame(rows)


def _held_out(method: str, country: object, y: np.ndarray, scores: np.ndarray) -> dict:
    """One row of a held-out-country table: ROC AUC and AP of ``scores`` on ``y``."""
    return {
        "method": method,
        "country": country,
        "roc_auc": roc_auc(y, scores),
        "ap": average_precision(y, scores),
    }


def leave_one_country_out(
    frame: pd.DataFrame, ours: list[str], theirs: list[str], seed: int = 0
) -> pd.DataFrame:
    """Train on all countries but one, score that one: ROC AUC and AP per method and country."""
    y = frame["label"].to_numpy(dtype=float)
    rows = []
    for country, test in frame.groupby("country").groups.items():
        train = frame.index.difference(test)
        for name, (columns, factory) in supervised(ours, theirs, seed).items():
            model = factory()
            model.fit(frame.loc[train, columns], y[train])
            rows.append(_held_out(name, country, y[test], _score(model, frame.loc[test, columns])))
    return pd.DataFrame(rows)


def feature_direction_auc(frame: pd.DataFrame, ours: list[str]) -> pd.DataFrame:
    """ROC AUC of each feature alone, oriented as declared, per country (median-imputed).

    Why: a direction-aware detector can only rank as well as the declared directions agree
    with the labels; this table says where they do not.
    """
    y = frame["label"].to_numpy(dtype=int)
    sign = {"high": 1.0, "low": -1.0, "both": 1.0}
    directions = declared_directions()
    table = {}
    for country, part in frame.groupby("country"):
        col = {}
        for feature in ours:
            v = part[feature].to_numpy(dtype=float)
            if np.isnan(v).all():
                continue
            v = np.where(np.isnan(v), np.nanmedian(v), v)
            if directions[feature] == "both":
                v = np.abs(v - np.median(v))
            col[feature] = roc_auc(y[part.index], sign[directions[feature]] * v)
        table[country] = pd.Series(col)
    return pd.DataFrame(table).assign(direction=pd.Series(directions))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-transfer", action="store_true", help="skip leave-one-country-out")
    args = parser.parse_args(argv)
    frame, ours, theirs = bid_table()
    frame = frame[frame["label"].notna()].reset_index(drop=True)
    scores = grouped_scores(frame, ours, theirs, args.folds)
    y = frame["label"].to_numpy(dtype=int)
    rows = []
    for name, s in scores.items():
        row = {
            "method": name,
            "average_precision": average_precision(y, s),
            "roc_auc": roc_auc(y, s),
            "precision@100": precision_at_k(y, s, 100),
        }
        for country, part in frame.groupby("country"):
            row[f"ap_{country}"] = average_precision(y[part.index], s[part.index])
        for country, part in frame.groupby("country"):
            row[f"auc_{country}"] = roc_auc(y[part.index], s[part.index])
        rows.append(row)
    pd.set_option("display.width", 250)
    print(
        f"bids {len(frame)}, tenders {frame['tender_id'].nunique()}, "
        f"collusive share {y.mean():.3f}, {args.folds} tender-grouped folds "
        "(detectors: fitted per country, no labels; default_detector on within-district ranks)"
    )
    print(pd.DataFrame(rows).set_index("method").T.round(4).to_string())
    print("\nfeature alone, oriented as declared (ROC AUC per country):")
    print(feature_direction_auc(frame, ours).round(3).to_string())
    if not args.no_transfer:
        transfer = leave_one_country_out(frame, ours, theirs)
        print("\nleave-one-country-out (train on the other countries), ROC AUC:")
        print(
            transfer.pivot(index="country", columns="method", values="roc_auc").round(4).to_string()
        )
        print("AP:")
        print(transfer.pivot(index="country", columns="method", values="ap").round(4).to_string())
        detectors = detector_transfer(frame, ours)
        print("\ndetector fitted on the other countries (held-out country ranked pooled), ROC AUC:")
        print(
            detectors.pivot(index="country", columns="method", values="roc_auc")
            .round(4)
            .to_string()
        )
    return 0


if __name__ == "__main__":
    sys.exit(exits.run(main))
