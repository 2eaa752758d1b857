"""Panel training for models with a cadence: stacked point-in-time snapshots, walk-forward.

A model scored every day (week, month) is trained on many snapshots, not one: each row is an
(entity, T) pair with the features as of T and, as its label, what verification later showed
about T (a verified lead flagged in the period ending on T). The backtest walks forward on the
same cadence: for each of the last ``horizon`` periods P, fit on the ``window`` snapshots ending
``delay`` periods before P with the labels known on P (feedback takes ``delay`` periods to come
back), then judge snapshot P against what was eventually verified about it. Precision at
capacity is reported per period (the Fraud-Detection-Handbook's card precision@k).

The leakage guard sits in ``features.build``: a feature expression never sees the model's label
sources, and every source of a model with a cadence is cut at each T by its declared dates
(``features.model.SupervisionModel`` refuses a cadenced model with an undated source).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluation.metrics import average_precision, precision_at_k_interval
from features.build import FeatureTable, build_features
from features.engines import connect
from features.model import Cadence
from pool.load import data_root
from pool.schemas import HISTORY_TABLE

FINAL = ("case_filed", "no_case")


def period_ends(last: date, cadence: Cadence, n: int) -> list[date]:
    """The ``n`` period ends up to and including ``last``, oldest first."""
    if cadence.every == "day":
        return [last - timedelta(days=i) for i in range(n - 1, -1, -1)]
    if cadence.every == "week":
        return [last - timedelta(weeks=i) for i in range(n - 1, -1, -1)]
    out = []
    index = last.year * 12 + last.month - 1
    for i in range(n - 1, -1, -1):
        year, month = divmod(index - i, 12)
        nxt = date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
        out.append(nxt - timedelta(days=1))
    return out


def period_start(end: date, cadence: Cadence) -> date:
    """The first day of the period ending on ``end``."""
    if cadence.every == "day":
        return end
    if cadence.every == "week":
        return end - timedelta(days=6)
    return end.replace(day=1)


def history(data: str | Path | None, scenario: str) -> pd.DataFrame:
    """The model's verification history (empty when it declares none)."""
    path = data_root(data) / "pool" / scenario / f"{HISTORY_TABLE}.parquet"
    columns = ["entity_id", "flagged_on", "verified_on", "outcome"]
    if not path.is_file():
        return pd.DataFrame(columns=columns)
    frame = pd.read_parquet(path, columns=columns)
    for column in ("flagged_on", "verified_on"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def snapshot_labels(
    hist: pd.DataFrame, end: date, cadence: Cadence, known_by: date | None
) -> pd.Series:
    """Label per entity about the period ending ``end``: 1 if a lead flagged in that period
    became a case, 0 if verified as no case, absent if not verified by ``known_by``."""
    start = pd.Timestamp(period_start(end, cadence))
    about = hist[
        (hist["flagged_on"] >= start)
        & (hist["flagged_on"] <= pd.Timestamp(end))
        & hist["outcome"].isin(FINAL)
    ]
    if known_by is not None:
        about = about[about["verified_on"] <= pd.Timestamp(known_by)]
    if about.empty:
        return pd.Series(dtype="float64")
    cases = about.assign(case=(about["outcome"] == "case_filed").astype(float))
    return cases.groupby("entity_id")["case"].max()


@dataclass
class Panel:
    """Snapshots by their as-of date (feature tables, labels not yet attached)."""

    tables: dict[date, FeatureTable]
    hist: pd.DataFrame
    cadence: Cadence

    def frame(self, ends: list[date], known_by: date | None) -> pd.DataFrame:
        """The stacked rows of the snapshots ``ends``, labelled as known on ``known_by``."""
        parts = []
        for end in ends:
            snap = self.tables[end].frame.copy()
            labels = snapshot_labels(self.hist, end, self.cadence, known_by)
            snap["label"] = snap["entity_id"].map(labels).astype("float64").to_numpy()
            snap["snapshot"] = pd.Timestamp(end)
            parts.append(snap)
        return pd.concat(parts, ignore_index=True)


def build_panel(
    scenario: str, data: str | Path | None, ends: list[date], engine: str = "duckdb"
) -> dict[date, FeatureTable]:
    """One feature table per snapshot, on one engine connection."""
    con = connect(engine)
    return {end: build_features(scenario, end, data, engine, con=con) for end in ends}


@dataclass
class WalkForward:
    """The walk-forward backtest: judged rows, their scores, and a row of figures per period."""

    holdout: pd.DataFrame
    scores: np.ndarray
    per_period: pd.DataFrame


def walk_forward(
    panel: Panel,
    judged: list[date],
    columns: list[str],
    make_model: Callable[[], Any],
    k: int,
    eventually: date,
) -> WalkForward:
    """For each judged period P: fit on ``window`` snapshots ending ``delay`` periods before P
    (labels known on P), score P, judge with the labels known on ``eventually``."""
    cadence = panel.cadence
    rows, scores, figures = [], [], []
    for end in judged:
        train_ends = period_ends(_back(end, cadence, cadence.delay), cadence, cadence.window)
        missing = [d for d in train_ends if d not in panel.tables]
        if missing:
            raise ValueError(f"walk-forward period {end}: snapshots {missing} were not built")
        train = panel.frame(train_ends, known_by=end)
        test = panel.frame([end], known_by=eventually)
        labelled = test[test["label"].notna()]
        if train["label"].notna().sum() == 0 or labelled.empty:
            figures.append(_figures(end, train, labelled, None, k))
            continue
        model = make_model().fit(train[columns], train["label"].to_numpy(dtype=float))
        score = np.asarray(model.decision_function(labelled[columns]), dtype=float)
        figures.append(_figures(end, train, labelled, score, k))
        rows.append(labelled)
        scores.append(score)
    if not rows:
        raise ValueError(
            "walk-forward backtest: no judged period had both verified outcomes to "
            "train on and verified outcomes to judge; lengthen the history or "
            "shorten the cadence's delay"
        )
    return WalkForward(
        pd.concat(rows, ignore_index=True), np.concatenate(scores), pd.DataFrame(figures)
    )


def _back(end: date, cadence: Cadence, periods: int) -> date:
    return period_ends(end, cadence, periods + 1)[0]


def _figures(
    end: date, train: pd.DataFrame, judged: pd.DataFrame, score: np.ndarray | None, k: int
) -> dict[str, Any]:
    labels = judged["label"].to_numpy(dtype=float)
    out: dict[str, Any] = {
        "period": str(end),
        "n_train_labelled": int(train["label"].notna().sum()),
        "n_judged": len(labels),
        "cases": int(np.nansum(labels)),
        f"precision@{k}": np.nan,
        "average_precision": np.nan,
    }
    if score is not None and len(labels):
        out[f"precision@{k}"] = precision_at_k_interval(labels, score, k).value
        if 0 < labels.sum() < len(labels):
            out["average_precision"] = average_precision(labels, score)
    return out
