"""Time-ordered backtests with a feedback delay.

A model in service is trained on the outcomes known *at the time*: a lead flagged in month T is
verified weeks later, so when scoring month T only labels of months up to ``T - delay`` exist.
Evaluating with a random split leaks those future outcomes and flatters the model; this module
replays history period by period instead:

for each period T (in order): training rows = all rows of earlier periods, with the label blanked
(NaN = not yet known) for periods after ``T - delay``; score the rows of period T; measure against
the truth of period T.

It is generic: any ``fit_score(train_frame, score_frame) -> scores`` callable and any frame with a
period column. :func:`estimator_fit_score` adapts a scikit-learn-style estimator to that shape.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from evaluation.metrics import (
    average_precision,
    entity_precision_at_k_by_period,
    precision_at_k,
    recall_at_k,
    roc_auc,
)

FitScore = Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]


def training_frame(
    frame: pd.DataFrame, scoring_period: Any, *, period: str, label: str, delay: int
) -> pd.DataFrame:
    """Rows before ``scoring_period`` with labels blanked where not yet known.

    ``delay`` counts periods in the order of the sorted distinct period values: labels of periods
    up to ``T - delay`` are known. Delay 1: outcomes come back one period later, so every earlier
    period is labelled; delay 2 also blanks T-1; delay 0 equals delay 1 (T is never in training).
    """
    periods = np.sort(frame[period].unique())
    position = int(np.searchsorted(periods, scoring_period))
    last_known = periods[position - delay] if position - delay >= 0 else None
    past = frame[frame[period] < scoring_period].copy()
    if last_known is None:
        past[label] = np.nan
    else:
        past[label] = past[label].where(past[period] <= last_known)
    return past


def _period_metrics(truth: np.ndarray, scores: np.ndarray, ks: Sequence[int]) -> dict[str, float]:
    row: dict[str, float] = {"n_scored": len(truth), "n_true": float(truth.sum())}
    for k in ks:
        row[f"precision@{k}"] = precision_at_k(truth, scores, k)
        row[f"recall@{k}"] = recall_at_k(truth, scores, k)
    row["average_precision"] = average_precision(truth, scores)
    row["roc_auc"] = roc_auc(truth, scores)
    return row


def backtest(
    frame: pd.DataFrame,
    fit_score: FitScore,
    *,
    period: str = "period",
    label: str = "label",
    truth: str | None = None,
    entity: str | None = None,
    delay: int = 1,
    ks: Sequence[int] = (10, 100),
    min_labelled: int = 1,
) -> pd.DataFrame:
    """Replay history period by period; one row of metrics per scored period.

    ``label`` holds what the model may learn from (1, 0, NaN for never verified); ``truth`` (by
    default the label itself) is what it is judged on, e.g. the simulated pool's true fraud flag.
    Periods whose training frame has fewer than ``min_labelled`` known labels are skipped (the
    model cannot be trained yet); they do not appear in the result. If ``entity`` is given, an
    ``entity_precision@k`` column counts each entity once per period (its highest score).
    """
    truth = truth or label
    missing = [c for c in (period, label, truth, entity) if c and c not in frame.columns]
    if missing:
        raise KeyError(f"backtest frame lacks column(s) {missing}; has {list(frame.columns)}")
    if delay < 0:
        raise ValueError(f"delay must be >= 0 periods, got {delay}")
    rows = []
    for scoring_period in np.sort(frame[period].unique()):
        train = training_frame(frame, scoring_period, period=period, label=label, delay=delay)
        n_labelled = int(train[label].notna().sum())
        if len(train) == 0 or n_labelled < min_labelled:
            continue
        test = frame[frame[period] == scoring_period]
        scores = np.asarray(fit_score(train, test), dtype=np.float64)
        if scores.shape != (len(test),):
            raise ValueError(
                f"fit_score returned {scores.shape} scores for {len(test)} rows of period {scoring_period}"
            )
        y_true = test[truth].astype(float).fillna(0.0).to_numpy()
        row = {period: scoring_period, "n_train": len(train), "n_train_labelled": n_labelled}
        row.update(_period_metrics(y_true, scores, ks))
        if entity:
            scored = pd.DataFrame({"p": 0, "e": test[entity].to_numpy(), "s": scores, "y": y_true})
            for k in ks:
                row[f"entity_precision@{k}"] = float(
                    entity_precision_at_k_by_period(
                        scored, k, period="p", entity="e", score="s", label="y"
                    ).iloc[0]
                )
        rows.append(row)
    return pd.DataFrame(rows)


def estimator_fit_score(
    make_estimator: Callable[[], Any], features: Sequence[str], label: str = "label"
) -> FitScore:
    """Adapt an estimator factory (``fit(X, y)`` + ``decision_function(X)``) to a fit_score."""

    def fit_score(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        model = make_estimator()
        model.fit(train[list(features)], train[label].to_numpy(dtype=float))
        return np.asarray(model.decision_function(test[list(features)]))

    return fit_score


PICKS: tuple[str, ...] = ("score", "expected_value")


def pick_order(
    scores: np.ndarray, probability: np.ndarray | None, amount: np.ndarray, pick: str
) -> np.ndarray:
    """Row order of a capacity pick: by score, or by probability x amount (rows without an
    expected value after those with one, by score); stable, so ties keep their order."""
    scores = np.asarray(scores, dtype="float64")
    if pick == "score":
        return np.lexsort((-scores,))
    if pick != "expected_value":
        raise ValueError(f"pick must be one of {PICKS}, got {pick!r}")
    if probability is None:
        raise ValueError("picking by expected value needs probabilities")
    ev = np.asarray(probability, dtype="float64") * np.asarray(amount, dtype="float64")
    return np.lexsort((-scores, -np.where(np.isnan(ev), -np.inf, ev)))


def compare_picks(
    labels: np.ndarray,
    scores: np.ndarray,
    probability: np.ndarray | None,
    amount: np.ndarray,
    k: int,
) -> pd.DataFrame:
    """Per pick (score, expected value): precision@k and the amount recovered in the top k
    (the amount at stake of the picked rows that became cases) against all the holdout's cases
    held (``amount_of_cases``). A pick that cannot be made (no probabilities, no amounts) is a
    row of NaN with the reason, never a copy of the other."""
    y = np.asarray(labels, dtype="float64")
    amount = np.asarray(amount, dtype="float64")
    k_eff = min(int(k), len(y))
    total = float(np.nansum(np.where(y == 1, amount, 0.0)))
    rows = []
    for pick in PICKS:
        note = ""
        if pick == "expected_value" and (probability is None or not np.isfinite(probability).any()):
            note = "no calibrated probability"
        elif pick == "expected_value" and not np.isfinite(amount).any():
            note = "no amount estimate"
        if note:
            rows.append(
                {
                    "pick": pick,
                    "k": k_eff,
                    "precision_at_k": np.nan,
                    "cases": np.nan,
                    "amount_recovered": np.nan,
                    "amount_of_cases": total,
                    "note": note,
                }
            )
            continue
        top = pick_order(scores, probability, amount, pick)[:k_eff]
        hit = y[top] == 1
        rows.append(
            {
                "pick": pick,
                "k": k_eff,
                "precision_at_k": float(hit.mean()),
                "cases": int(hit.sum()),
                "amount_recovered": float(np.nansum(amount[top][hit])),
                "amount_of_cases": total,
                "note": note,
            }
        )
    return pd.DataFrame(rows)


def format_picks(picks: pd.DataFrame) -> str:
    """One line: ``@k: score p@k 0.62, recovered 1.2e+08 | expected_value ...``."""
    parts = []
    for row in picks.itertuples(index=False):
        if row.note:
            parts.append(f"{row.pick}: {row.note}")
        else:
            parts.append(
                f"{row.pick} p@k {row.precision_at_k:.2f}, recovered {row.amount_recovered:,.0f}"
            )
    k = int(picks["k"].iloc[0]) if len(picks) else 0
    return f"@{k}: " + " | ".join(parts)
