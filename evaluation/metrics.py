"""Ranking metrics for leads: what a unit that can verify only k leads cares about.

Conventions shared by every function here:

* ``scores``: higher = more suspicious (the project-wide score convention).
* ``y_true``: 1/True = truly a case (fraud), 0/False = not.
* **Ties: one rule, everywhere.** When several items share the score at the k-th position, the
  top k is not defined by the scores alone. A unit that can verify k leads picks among the tied
  ones by chance, so the honest figure for that capacity pick is the *expected* value under a
  uniformly random order of the tied items: the tied group fills the remaining slots pro rata.
  ``k=1`` over two tied items, one positive, gives precision 0.5; four tied items with the case
  last in row order give 0.25 (a stable sort would say 0.0, or 1.0 with the rows reversed). The
  gate's point value, its bootstraps and every report use this rule (this module is the only
  place the project computes a statistic).
* **k larger than n.** ``k`` is clipped to the number of items: a unit with spare capacity
  verifies everything there is, so precision@k is then the precision over all items.
  ``k`` must be a positive integer.
* **No positives / a single class.** Recall, ROC AUC and average precision are undefined; they
  return NaN (so per-period averages can skip such periods) rather than raising. A bootstrap
  resample on which the statistic is undefined is left out of its quantiles.
* **Intervals.** Wilson for a proportion (precision on k picks, conversion on verified leads);
  percentile bootstraps (``scipy.stats.bootstrap``) for everything else, paired when two scorers
  are judged on the same rows. With no trials a Wilson interval is the whole of [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import bootstrap, norm
from sklearn.metrics import average_precision_score, roc_auc_score


def _check(
    y_true: Sequence | np.ndarray, scores: Sequence | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
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
    return (
        per_entity.groupby(level=0, observed=True)
        .apply(lambda g: precision_at_k(g["label"].to_numpy(), g["score"].to_numpy(), k))
        .rename(f"entity_precision@{k}")
    )


def mean_entity_precision_at_k(frame: pd.DataFrame, k: int, **columns: str) -> float:
    """Average over periods of :func:`entity_precision_at_k_by_period` (the handbook's CP@k)."""
    return float(entity_precision_at_k_by_period(frame, k, **columns).mean())


def wilson_interval(successes: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (e.g. a lead-to-case conversion rate).

    Why Wilson rather than p +/- z*se: with the small samples a unit verifies (20 leads, 3 cases)
    the normal interval leaves [0, 1] and collapses to a point at 0 or n successes.
    With n = 0 nothing is known: the interval is the whole of [0, 1].
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} successes of {n} trials")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n == 0:
        return (0.0, 1.0)
    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class PrecisionAtK:
    """Precision in the top ``k`` of ``n`` labelled rows (ties pro rata) with a Wilson interval."""

    value: float
    low: float
    high: float
    k: int
    n: int
    hits: float


def precision_at_k_interval(
    y_true: Sequence | np.ndarray, scores: Sequence | np.ndarray, k: int, confidence: float = 0.95
) -> PrecisionAtK:
    """precision@k (k clipped to n) with a Wilson interval on the k picks.

    Why Wilson: k is small (a unit verifies tens of leads), where the normal interval misbehaves.
    """
    y, _ = _check(y_true, scores)
    k_eff = min(_check_k(k), len(y))
    hits = hits_at_k(y_true, scores, k_eff)
    low, high = wilson_interval(hits, k_eff, confidence=confidence)
    return PrecisionAtK(hits / k_eff, float(low), float(high), k_eff, len(y), hits)


@dataclass(frozen=True)
class Conversion:
    """Hit-to-case conversion: cases / leads with a final outcome, with a Wilson interval."""

    issued: int
    verified: int
    cases: int
    value: float
    low: float
    high: float


def conversion(issued: int, verified: int, cases: int, confidence: float = 0.95) -> Conversion:
    """Conversion with a Wilson interval; (nan, 0, 1) when nothing is verified yet."""
    if min(issued, verified, cases) < 0 or cases > verified:
        raise ValueError(f"bad lead counts: issued={issued}, verified={verified}, cases={cases}")
    low, high = wilson_interval(cases, verified, confidence=confidence)
    value = cases / verified if verified else float("nan")
    return Conversion(issued, verified, cases, value, float(low), float(high))


#: Ranking metrics a gate or a comparison may judge by, as ``f(y_true, scores, k)``.
RANKING_METRICS: dict[str, Callable[[np.ndarray, np.ndarray, int], float]] = {
    "precision_at_k": lambda y, s, k: precision_at_k(y, s, k),
    "average_precision": lambda y, s, k: average_precision(y, s),
}


def ranking_metric(name: str, k: int) -> Callable[[np.ndarray, np.ndarray], float]:
    """``f(y_true, scores)`` for a metric of :data:`RANKING_METRICS` at capacity ``k``."""
    if name not in RANKING_METRICS:
        raise ValueError(
            f"unknown ranking metric {name!r}; expected one of {list(RANKING_METRICS)}"
        )
    f = RANKING_METRICS[name]
    return lambda y, s: f(y, s, k)


@dataclass(frozen=True)
class BootstrapInterval:
    """A statistic on the rows with a two-sided percentile bootstrap interval."""

    value: float
    low: float
    high: float
    n: int
    n_boot: int


@dataclass(frozen=True)
class PairedComparison:
    """Statistic of ``a`` minus statistic of ``b`` over bootstrap resamples of the same rows."""

    diff: float
    diff_low: float
    diff_high: float
    n_boot: int
    share_better: float


def _resampled(
    statistic: Callable[[np.ndarray], float], n: int, n_boot: int, seed: int
) -> np.ndarray:
    """The statistic on ``n_boot`` resamples (with replacement) of row indices ``0..n-1``.

    ``scipy.stats.bootstrap`` draws the resamples; its own interval is not used because a
    resample on which the statistic is undefined (NaN, e.g. average precision with no case)
    must be left out rather than turn the whole interval into NaN.
    """
    if n < 1:
        raise ValueError("a bootstrap needs at least one row")
    if n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    rows = np.arange(n)
    if n == 1:  # scipy refuses a one-row sample; every resample is that row
        return np.full(n_boot, statistic(rows))
    result = bootstrap(
        (rows,),
        lambda idx: statistic(idx.astype(int)),
        n_resamples=n_boot,
        vectorized=False,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    draws = np.asarray(result.bootstrap_distribution, dtype=float)
    if np.isnan(draws).all():
        raise ValueError("the statistic is undefined on every bootstrap resample")
    return draws


def bootstrap_interval(
    statistic: Callable[[np.ndarray, np.ndarray], float],
    y_true: Sequence | np.ndarray,
    scores: Sequence | np.ndarray,
    *,
    n_boot: int = 500,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapInterval:
    """``statistic(y, s)`` with a percentile bootstrap interval over the rows (unpaired)."""
    y, s = _check(y_true, scores)
    draws = _resampled(lambda i: statistic(y[i], s[i]), len(y), n_boot, seed)
    tail = (1 - confidence) / 2
    return BootstrapInterval(
        float(statistic(y, s)),
        float(np.nanquantile(draws, tail)),
        float(np.nanquantile(draws, 1 - tail)),
        len(y),
        n_boot,
    )


def paired_bootstrap(
    statistic: Callable[[np.ndarray, np.ndarray], float],
    y_true: Sequence | np.ndarray,
    scores_a: Sequence | np.ndarray,
    scores_b: Sequence | np.ndarray,
    *,
    n_boot: int = 500,
    confidence: float = 0.9,
    seed: int = 0,
) -> PairedComparison:
    """Bootstrap ``statistic(y, a) - statistic(y, b)`` over resamples of the same rows.

    Why paired: both scorers are judged on each resample, so the shared luck of the sample
    cancels and only their difference remains. ``diff_low`` is the one-sided lower bound at
    ``confidence`` (``a`` is better beyond noise when it is above zero), ``diff_high`` the
    one-sided upper bound.
    """
    y, a = _check(y_true, scores_a)
    _, b = _check(y_true, scores_b)
    diffs = _resampled(
        lambda i: statistic(y[i], a[i]) - statistic(y[i], b[i]), len(y), n_boot, seed
    )
    point = statistic(y, a) - statistic(y, b)
    return PairedComparison(
        float(point),
        float(np.nanquantile(diffs, 1 - confidence)),
        float(np.nanquantile(diffs, confidence)),
        n_boot,
        float((diffs[~np.isnan(diffs)] > 0).mean()),
    )
