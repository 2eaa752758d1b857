"""The periods the models of one supervision point are compared on (``training.point_backtest``).

A point-in-time model walks forward: ``PERIODS`` cutoffs spread evenly over the last
``holdout_months`` months, each period ending at the next cutoff (the last at the as-of date).
At a cutoff the features and labels are those known then (the lead store's outcomes cut at that
day, as in the gate's backtest); the period judges the entities whose first outcome (case or no
case) became known in it, with that outcome. An entity that did not exist at the cutoff is not
ranked there. A model split by groups has one period: the held-out groups.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training.point_backtest import PERIODS, Period, fraud_by, load_truths
from training.train_data import (
    BacktestSplit,
    _first_verified,
    _months_before,
    with_store_labels,
)


def cutoffs(as_of: date, holdout_months: int, periods: int = PERIODS) -> list[date]:
    """Month ends ``holdout_months``, then every ``holdout_months // periods`` months, before
    ``as_of`` (at least one month apart; fewer cutoffs when the window is short)."""
    step = max(1, holdout_months // periods)
    months = sorted(
        {holdout_months - i * step for i in range(periods) if holdout_months - i * step >= 1},
        reverse=True,
    )
    return [_months_before(as_of, m) for m in months]


def walk_forward_periods(
    owner: str,
    data: str | Path | None,
    full: pd.DataFrame,
    as_of: date,
    holdout_months: int,
    outcomes: pd.DataFrame,
    features_at: Callable[[date], pd.DataFrame],
) -> list[Period]:
    """The walk-forward periods of a point-in-time point (``full``: the as-of table, labels as
    known now; ``features_at(day)``: the point's feature frame as of ``day``)."""
    first = _first_verified(data, owner, outcomes)
    final = full.set_index("entity_id")["label"]
    truth, monthly = load_truths(data, owner)
    ends = cutoffs(as_of, holdout_months)
    out = []
    for cutoff, end in zip(ends, ends[1:] + [as_of], strict=True):
        past = with_store_labels(features_at(cutoff), outcomes, cutoff).reset_index(drop=True)
        when = past["entity_id"].map(first)
        in_period = ((when > pd.Timestamp(cutoff)) & (when <= pd.Timestamp(end))).to_numpy()
        outcome = past["entity_id"].map(final).where(in_period, np.nan).astype("float64")
        out.append(
            Period(
                str(cutoff),
                past,
                past,
                outcome,
                fraud_by(truth, monthly, past["entity_id"], cutoff),
            )
        )
    return out


def group_periods(owner: str, data: str | Path | None, split: BacktestSplit) -> list[Period]:
    """A point split by groups: train on the kept groups, judge the held-out ones (every held
    out row has its label; the truth is the declared findings, or the labels)."""
    frame = split.frame.reset_index(drop=True)
    train = frame[frame["period"] == 0]
    held = frame[frame["period"] == 1].reset_index(drop=True)
    truth, monthly = load_truths(data, owner)
    fraud = fraud_by(truth, monthly, held["entity_id"], None)
    if fraud is None:
        fraud = held["label"].fillna(0).astype(bool)
    return [Period(split.cutoff, train, held, held["label"].astype("float64"), fraud)]


def point_periods(
    owner: str,
    declared: Any,
    data: str | Path | None,
    full: pd.DataFrame,
    split: BacktestSplit,
    as_of: date | None,
    holdout_months: int,
    outcomes: pd.DataFrame,
    features_at: Callable[[date], pd.DataFrame],
) -> list[Period] | None:
    """The periods for the point's declaration, or None when it has no comparable periods (a
    cadence model walks forward on its own panel; a model with no dates and no groups)."""
    if declared.cadence is not None:
        return None
    if declared.policy.split == "groups":
        return group_periods(owner, data, split)
    if as_of is None:
        return None
    return walk_forward_periods(owner, data, full, as_of, holdout_months, outcomes, features_at)
