"""Every model of one supervision point judged the same way: same periods, same entities, same k.

Why a separate backtest: the gate's backtest judges each candidate on the entities first
verified after one cutoff, and those were flagged by the past rules (plus tip-offs). A rule
model and a learnt model can be ranked on those rows, but the rows say nothing about what the
rules never flagged. So the models of a point are compared here on a walk-forward over
``PERIODS`` cutoffs spread over the policy's ``holdout_months``: at each cutoff every model is
fitted on the labels known then (a rule model fits nothing) and ranks every entity with its
features as of then, and is judged two ways:

* **labels** (what a real office has): the entities whose first outcome became known in the
  period, with that outcome; precision at ``k`` (clipped to the judged rows) and average
  precision, on the same rows for every model;
* **truth** (the simulated pool, or the authorities' findings where a model declares them):
  the model's top ``capacity`` per district over all entities, the share that truly were
  evading by the cutoff. Every model gets the same number of slots; a rule model fills them
  with the entities its rules fired on, then (when it declares a tie-break) with the rest in
  tie-break order; without a tie-break it fills fewer and the empty slots count as misses.

The same top-``capacity`` sets give the lead overlap (同质化): the share of a model's top-k
entities, over the periods, that another model of the point also has in its top-k.

A model split by groups (no dates: ``bid_rigging``) has one period: its held-out groups.

Cost: every (period, model) fit is independent, so they run side by side on the job's threads
(``pool.resources.parallel_map``, one thread each on two cores); the fits are deterministic, so
the figures do not depend on the thread count. The fits are kept in the job's
``training.fit_cache.FitCache``: the first cutoff is the gate backtest's cutoff, and the gate
takes the point model's fit from there instead of fitting the same rows again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluation.metrics import average_precision, precision_at_k
from pool.resources import parallel_map
from training.fit_cache import FitCache

#: walk-forward cutoffs over the policy's holdout window
PERIODS = 3


@dataclass(frozen=True)
class Period:
    """One judged period: what every model trains on and ranks, and the two judges."""

    name: str
    train: pd.DataFrame  # features and labels as known at the cutoff
    ranked: pd.DataFrame  # every entity as of the cutoff (entity_id, district, features)
    outcome: pd.Series  # per ranked row: final label if first known in the period, else NaN
    fraud: pd.Series | None  # per ranked row: truly evading by the cutoff (None: no truth)


@dataclass(frozen=True)
class PointComparison:
    """Per model and period, the figures; per model, their summary; the overlap table."""

    per_period: pd.DataFrame
    summary: pd.DataFrame  # index model: backtest_precision_at_k, backtest_ap, truth...
    overlap: pd.DataFrame  # row model's top-k share also in the column model's top-k
    k: int
    capacity: int

    def tags(self, model: str) -> dict[str, str]:
        """What a version of ``model`` records of the comparison (``compare.*`` tags)."""
        row = self.summary.loc[model]
        out = {
            "compare.periods": str(int(row["periods"])),
            "compare.k": str(self.k),
            "compare.judged": str(int(row["judged"])),
            "compare.capacity": str(self.capacity),
        }
        for name in (
            "backtest_precision_at_k",
            "backtest_ap",
            "backtest_truth_precision",
            "backtest_filled_share",
        ):
            if pd.notna(row[name]):
                out[f"compare.{name}"] = f"{row[name]:.4f}"
        for peer in self.overlap.columns:
            if peer != model and pd.notna(self.overlap.loc[model, peer]):
                out[f"compare.overlap.{peer}"] = f"{self.overlap.loc[model, peer]:.4f}"
        return out


def top_at_capacity(
    ranked: pd.DataFrame, scores: np.ndarray, eligible: np.ndarray, capacity: int
) -> pd.DataFrame:
    """The ``capacity`` best-scored eligible rows of each district (ties by entity id)."""
    frame = pd.DataFrame(
        {
            "entity_id": ranked["entity_id"].to_numpy(),
            "district": ranked["district"].to_numpy(),
            "score": scores,
            "row": np.arange(len(ranked)),
        }
    )[eligible]
    frame = frame.sort_values(
        ["district", "score", "entity_id"], ascending=[True, False, True], kind="stable"
    )
    return frame[frame.groupby("district").cumcount() < capacity]


def slots(ranked: pd.DataFrame, capacity: int) -> int:
    """Leads a unit can take over all districts: ``capacity`` each, or fewer entities."""
    return int(np.minimum(ranked.groupby("district").size().to_numpy(), capacity).sum())


def eligible_rows(model: Any, X: pd.DataFrame) -> np.ndarray:
    """Which rows a model may put in its top-k: every row for a learnt model or a rule model
    with a tie-break; only the rows a rule fired on for a rule model without one."""
    if not hasattr(model, "fired_matrix") or model.rules.tie_break is not None:
        return np.ones(len(X), dtype=bool)
    return model.fired_matrix(X).any(axis=1)


def judge(
    period: Period, model: Any, columns: list[str], k: int, capacity: int
) -> tuple[dict[str, float], set[str]]:
    """One model on one period: its figures and its top-k entities."""
    X = period.ranked[columns].astype("float64")
    scores = np.asarray(model.decision_function(X), dtype="float64")
    judged = period.outcome.notna().to_numpy()
    y = period.outcome.to_numpy(dtype="float64")[judged]
    s = scores[judged]
    both = judged.sum() > 0 and 0 < y.sum() < len(y)
    top = top_at_capacity(period.ranked, scores, eligible_rows(model, X), capacity)
    n_slots = slots(period.ranked, capacity)
    fired = top_fired(model, X, top)
    figures = {
        "n_judged": float(judged.sum()),
        "precision_at_k": precision_at_k(y, s, min(k, len(y))) if len(y) else np.nan,
        "average_precision": average_precision(y, s) if both else np.nan,
        "slots": float(n_slots),
        "filled": float(len(top)),
        "fired_in_top": fired,
        "truth_hits": np.nan
        if period.fraud is None
        else float(period.fraud.to_numpy()[top["row"].to_numpy()].sum()),
    }
    return figures, set(top["entity_id"])


def top_fired(model: Any, X: pd.DataFrame, top: pd.DataFrame) -> float:
    """How many of the top-k rows a rule fired on (all of them for a learnt model)."""
    if not hasattr(model, "fired_matrix"):
        return float(len(top))
    return float(model.fired_matrix(X.iloc[top["row"].to_numpy()]).any(axis=1).sum())


def overlap_share(sets: dict[str, list[set[str]]], a: str, b: str) -> float:
    """Share of ``a``'s top-k entities, summed over the periods, that ``b`` also has."""
    mine = sum(len(s) for s in sets[a])
    both = sum(len(x & y) for x, y in zip(sets[a], sets[b], strict=True))
    return float("nan") if mine == 0 else both / mine


def compare(
    periods: list[Period],
    makers: Mapping[str, Callable[[], Any]],
    columns: dict[str, list[str]],
    k: int,
    capacity: int,
    fits: FitCache | None = None,
) -> PointComparison:
    """Fit every model on each period's known labels, rank, judge, and summarise (``fits``:
    the job's fits, so that a later fit of the same model on the same rows, the gate's
    backtest at the first cutoff, is not made twice)."""
    fits = fits if fits is not None else FitCache()

    def fit_judge(task: tuple[Period, str]) -> tuple[dict[str, float], set[str]]:
        period, name = task
        y = period.train["label"].to_numpy(dtype="float64", na_value=np.nan)
        model = fits.fit(name, makers[name], period.train[columns[name]], y)
        return judge(period, model, columns[name], k, capacity)

    # every (period, model) fit is independent and deterministic: run them side by side
    tasks = [(period, name) for period in periods for name in makers]
    rows: list[dict[str, Any]] = []
    sets: dict[str, list[Any]] = {name: [] for name in makers}
    for (period, name), (figures, top) in zip(tasks, parallel_map(fit_judge, tasks), strict=True):
        rows.append({"model": name, "period": period.name, **figures})
        sets[name].append(top)
    per = pd.DataFrame(rows)
    summary = per.groupby("model", sort=False).apply(_summary, include_groups=False)
    names = list(makers)
    table = pd.DataFrame(
        {b: {a: overlap_share(sets, a, b) for a in names} for b in names}, index=names
    ).reindex(columns=names)
    return PointComparison(per, summary, table, k, capacity)


def _summary(per: pd.DataFrame) -> pd.Series:
    """A model's figures over the periods: mean precision at k and AP over the periods that
    judged anything, truth hits over all slots (unfilled slots are misses)."""
    judged = per[per["n_judged"] > 0]
    truth = per["truth_hits"]
    return pd.Series(
        {
            "periods": float(len(per)),
            "judged": float(per["n_judged"].sum()),
            "backtest_precision_at_k": judged["precision_at_k"].mean() if len(judged) else np.nan,
            "backtest_ap": judged["average_precision"].mean(),
            "backtest_truth_precision": np.nan
            if truth.isna().all()
            else float(truth.sum() / per["slots"].sum()),
            "backtest_filled_share": float(per["filled"].sum() / per["slots"].sum()),
        }
    )


def fraud_by(
    truth: pd.DataFrame | None, monthly: pd.Series | None, entities: pd.Series, cutoff: date | None
) -> pd.Series | None:
    """Per entity, whether it truly was evading by ``cutoff`` (monthly truth where the
    simulator wrote it: some evading month starting on or before the cutoff; else the
    entity's ``is_fraud``). None without a truth."""
    if truth is None:
        return None
    fraud = truth["is_fraud"].astype(bool).reindex(entities.to_numpy()).fillna(False)
    if monthly is not None and cutoff is not None:
        started = monthly.reindex(entities.to_numpy()).map(
            lambda months: isinstance(months, list) and bool(months) and months[0] <= cutoff
        )
        fraud = fraud & started.fillna(False).astype(bool)
    return pd.Series(fraud.to_numpy(dtype=bool), index=entities.index)


def load_truths(
    data: str | Path | None, owner: str
) -> tuple[pd.DataFrame | None, pd.Series | None]:
    """The point's truth and per-month truth (evaluation only; never a feature)."""
    # deferred: truth is read only to judge a point (evaluation), never to train
    from leads.simulate import load_monthly_truth, load_truth
    from pool.load import data_root

    root = data_root(data)
    return load_truth(root, owner), load_monthly_truth(root, owner)
