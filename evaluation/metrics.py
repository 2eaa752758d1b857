"""Ranking metrics for leads: what a unit that can verify only k leads cares about.

Conventions shared by every function here:

* ``scores``: higher = more suspicious (the project-wide score convention).
* ``y_true``: 1/True = truly a case (fraud), 0/False = not.
* **Ties.** When several items share the score at the k-th position, the top k is not defined by
  the scores alone. Instead of an arbitrary (sort-order dependent) choice, the metrics at k return
  the *expected* value under a uniformly random order of the tied items: the tied group fills the
  remaining slots pro rata, so ``k=1`` over two tied items, one positive, gives precision 0.5.
* **k larger than n.** ``k`` is clipped to the number of items: a unit with spare capacity
  verifies everything there is, so precision@k is then the precision over all items.
  ``k`` must be a positive integer.
* **No positives / a single class.** Recall, ROC AUC and average precision are undefined; they
  return NaN (so per-period averages can skip such periods) rather than raising.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.metrics import average_precision_score, roc_auc_score


def _check(y_true: Sequence | np.ndarray, scores: Sequence | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert labels and scores; errors name the argument at fault."""
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim != 1 or s.ndim != 1:
        raise ValueError(f"y_true and scores must be 1-d, got shapes {y.shape} and {s.shape}")
    if len(y) != len(s):
        raise ValueError(f"y_true has {len(y)} items but scores has {len(s)}")
    if len(y) == 0:
        raise ValueError("y_true and scores are empty")
    if not np.isfinite(s).all():
        bad = int(np.flatnonzero(~np.isfinite(s))[0])
        raise ValueError(f"scores must be finite; item {bad} is {s[bad]}")
    y = y.astype(np.float64)
    if not np.isin(y, (0.0, 1.0)).all():
        bad = int(np.flatnonzero(~np.isin(y, (0.0, 1.0)))[0])
        raise ValueError(f"y_true must be 0/1; item {bad} is {y[bad]}")
    return y, s


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def hits_at_k(y_true: Sequence | np.ndarray, scores: Sequence | np.ndarray, k: int) -> float:
    """Expected number of positives among the top k (ties shared pro rata; k clipped to n)."""
    y, s = _check(y_true, scores)
    k = min(_check_k(k), len(s))
    kth = np.sort(s)[::-1][k - 1]
    above = s > kth
    tied = s == kth
    slots_left = k - int(above.sum())
    return float(y[above].sum() + slots_left * y[tied].mean())


def precision_at_k(y_true: Sequence | np.ndarray, scores: Sequence | np.ndarray, k: int) -> float:
    """Share of true cases among the k highest-scored items: the hit rate a unit will see."""
    k_eff = min(_check_k(k), len(np.asarray(scores)))
    return hits_at_k(y_true, scores, k) / k_eff


def recall_at_k(y_true: Sequence | np.ndarray, scores: Sequence | np.ndarray, k: int) -> float:
    """Share of all true cases that fall in the top k: how much fraud k verifications can reach."""
    y, _ = _check(y_true, scores)
    positives = y.sum()
    return float("nan") if positives == 0 else hits_at_k(y_true, scores, k) / positives


def lift_at_k(y_true: Sequence | np.ndarray, scores: Sequence | np.ndarray, k: int) -> float:
    """precision@k over the base rate: how many times better than picking leads at random."""
    y, _ = _check(y_true, scores)
    base = y.mean()
    return float("nan") if base == 0 else precision_at_k(y_true, scores, k) / base


def average_precision(y_true: Sequence | np.ndarray, scores: Sequence | np.ndarray) -> float:
    """Area under the precision-recall curve (step-wise, scikit-learn's definition); NaN if no positive."""
    y, s = _check(y_true, scores)
    return float("nan") if y.sum() == 0 else float(average_precision_score(y, s))


def roc_auc(y_true: Sequence | np.ndarray, scores: Sequence | np.ndarray) -> float:
    """Probability a random case outranks a random non-case (ties count half); NaN if one class."""
    y, s = _check(y_true, scores)
    return float("nan") if y.min() == y.max() else float(roc_auc_score(y, s))


def entity_precision_at_k_by_period(
    frame: pd.DataFrame,
    k: int,
    *,
    period: str = "period",
    entity: str = "entity_id",
    score: str = "score",
    label: str = "label",
) -> pd.Series:
    """Per period, precision of the top-k distinct entities ranked by their highest score.

    The Fraud-Detection-Handbook's *card precision@k*: investigators check entities (a card, a
    station), not single records, so within each period an entity counts once, with its maximum
    score, and is a true positive if any of its records that period is labelled 1. k is clipped
    to the number of entities in the period; ties are shared pro rata (see module docstring).
    """
    missing = [c for c in (period, entity, score, label) if c not in frame.columns]
    if missing:
        raise KeyError(f"frame lacks column(s) {missing}; has {list(frame.columns)}")
    per_entity = frame.groupby([period, entity], sort=True, observed=True).agg(
        score=(score, "max"), label=(label, "max")
    )
    return per_entity.groupby(level=0, observed=True).apply(
        lambda g: precision_at_k(g["label"].to_numpy(), g["score"].to_numpy(), k)
    ).rename(f"entity_precision@{k}")


def mean_entity_precision_at_k(frame: pd.DataFrame, k: int, **columns: str) -> float:
    """Average over periods of :func:`entity_precision_at_k_by_period` (the handbook's CP@k)."""
    return float(entity_precision_at_k_by_period(frame, k, **columns).mean())


def wilson_interval(successes: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (e.g. a lead-to-case conversion rate).

    Why Wilson rather than p +/- z*se: with the small samples a unit verifies (20 leads, 3 cases)
    the normal interval leaves [0, 1] and collapses to a point at 0 or n successes.
    Returns (nan, nan) for n = 0.
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n == 0:
        return (float("nan"), float("nan"))
    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))
