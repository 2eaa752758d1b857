"""The train job's side of the point comparison: run it once per point, tag every version.

The first model of a supervision point trained in a job runs the comparison
(``training.point_backtest``) for every discovered model of the point, on the periods of
``training.point_periods``; each model's version then records its figures as ``compare.*``
tags (the ledger reads them) and the overlap check reads the shares. A point with one model
has nothing to compare and pays nothing.

Also here: precision at capacity with the truth as judge on the as-of table, for the version
just fitted, with the same slot rule as the backtest (equal slots; a rule model without a
tie-break fills fewer and the empty slots are misses).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features import registry
from features.build import build_features
from features.points import data_owner, point_models
from training.fit_cache import FitCache
from training.point_backtest import (
    PointComparison,
    compare,
    eligible_rows,
    fraud_by,
    load_truths,
    slots,
    top_at_capacity,
    top_fired,
)
from training.point_periods import point_periods


def features_cache(cache: dict, owner: str, data: str | Path | None) -> Callable[[date], Any]:
    """``day -> FeatureTable`` of the point as of ``day``, built once per job."""

    def at(day: date) -> Any:
        key = (owner, day)
        if key not in cache:
            cache[key] = build_features(owner, day, data)
        return cache[key]

    return at


def point_comparison(
    scenario: str,
    data: str | Path | None,
    full: pd.DataFrame,
    split: Any,
    as_of: date | None,
    outcomes: pd.DataFrame,
    policy: Any,
    make: Callable[[str], Any],
    tables: dict,
    fits: FitCache | None = None,
) -> PointComparison | None:
    """Compare every model of ``scenario``'s point (None: one model, or no periods); ``fits``
    keeps the fits for the gate's backtest (``training.fit_cache``)."""
    names = point_models(scenario)
    if len(names) < 2:
        return None
    owner = data_owner(scenario)
    at = features_cache(tables, owner, data)
    periods = point_periods(
        owner,
        registry.get(owner),
        data,
        full,
        split,
        as_of,
        policy.holdout_months,
        outcomes,
        lambda day: at(day).frame.copy(),
    )
    if not periods:
        return None
    makers = {name: (lambda n=name: make(n)) for name in names}
    columns = {name: list(registry.get(name).feature_names) for name in names}
    return compare(periods, makers, columns, policy.k, policy.capacity, fits)


def truth_at_capacity(
    model: Any,
    columns: list[str],
    frame: pd.DataFrame,
    data: str | Path | None,
    scenario: str,
    as_of: date | None,
    capacity: int,
) -> dict[str, str]:
    """The fitted model's top ``capacity`` per district on the as-of table, judged by the
    truth (``compare.truth_*`` tags; none without a truth, and none for a model split by
    groups: its labels are its truth and it was fitted on them, so only the held-out groups of
    the point comparison judge it fairly)."""
    if registry.get(scenario).policy.split == "groups":
        return {}
    truth, monthly = load_truths(data, data_owner(scenario))
    if truth is None:
        return {}
    ranked = frame.reset_index(drop=True)
    X = ranked[columns].astype("float64")
    scores = np.asarray(model.decision_function(X), dtype="float64")
    top = top_at_capacity(ranked, scores, eligible_rows(model, X), capacity)
    fraud = fraud_by(truth, monthly, ranked["entity_id"], as_of)
    assert fraud is not None
    n_slots = slots(ranked, capacity)
    hits = float(fraud.to_numpy()[top["row"].to_numpy()].sum())
    return {
        "compare.truth_precision_at_capacity": f"{hits / n_slots:.4f}",
        "compare.truth_slots": str(n_slots),
        "compare.truth_filled": str(len(top)),
        "compare.truth_fired": str(int(top_fired(model, X, top))),
    }
