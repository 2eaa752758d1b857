"""Statistics behind the ledger's decisions: precision@k with its interval, the paired bootstrap
that says whether a candidate beats the champion beyond noise, and conversion intervals.

Kept apart from the registry code so they are pure functions on arrays, testable by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import average_precision_score

from evaluation.metrics import hits_at_k, wilson_interval

#: The offline gate's metrics: precision in the top k (a unit's verification budget), or average
#: precision over the whole backtest where the base rate is so high that the top k is always
#: right (real procurement data: half the bids are collusive).
GATE_METRICS = ("precision_at_k", "average_precision")


@dataclass(frozen=True)
class PrecisionAtK:
    """Precision in the top ``k`` of ``n`` labelled rows, with a Wilson interval."""

    value: float
    low: float
    high: float
    k: int
    n: int
    hits: float


def top_k_hits(labels: np.ndarray, scores: np.ndarray, k: int) -> int:
    """Cases among the ``k`` highest scores (ties broken by row order, stable)."""
    order = np.argsort(-scores, kind="stable")[:k]
    return int(np.asarray(labels)[order].sum())


def precision_at_k(labels: np.ndarray, scores: np.ndarray, k: int,
                   confidence: float = 0.95) -> PrecisionAtK:
    """Precision@k on verified rows (labels 0/1) with a Wilson interval on the k picks.

    Why Wilson: k is small (a unit verifies tens of leads), where the normal interval misbehaves.
    """
    labels, scores = _checked(labels, scores)
    k = min(int(k), len(labels))
    if k <= 0:
        raise ValueError("precision@k needs at least one labelled backtest row")
    hits = float(hits_at_k(labels, scores, k))  # ties shared pro rata, as evaluation does
    low, high = wilson_interval(hits, k, confidence=confidence)
    return PrecisionAtK(value=hits / k, low=float(low), high=float(high), k=k, n=len(labels),
                        hits=hits)


@dataclass(frozen=True)
class PairedComparison:
    """Candidate minus champion gate metric over bootstrap resamples of the same rows."""

    diff: float
    diff_low: float
    diff_high: float
    n_boot: int
    share_better: float


@dataclass(frozen=True)
class GateMetric:
    """The gate's metric on the backtest rows with its interval: ``name`` as recorded in the tags
    (``precision_at_50``, ``average_precision``), ``k`` only for precision@k."""

    name: str
    value: float
    low: float
    high: float
    n: int
    k: int | None


def metric_function(metric: str, k: int) -> Callable[[np.ndarray, np.ndarray], float]:
    """``f(labels, scores)`` for a gate metric (see ``GATE_METRICS``)."""
    if metric == "precision_at_k":
        return lambda y, s: top_k_hits(y, s, min(k, len(y))) / min(k, len(y))
    if metric == "average_precision":
        return lambda y, s: float(average_precision_score(y, s)) if y.any() else 0.0
    raise ValueError(f"unknown gate metric {metric!r}; expected one of {GATE_METRICS}")


def gate_metric(labels: np.ndarray, scores: np.ndarray, metric: str, k: int,
                n_boot: int = 500, seed: int = 0, confidence: float = 0.95) -> GateMetric:
    """The gate metric with an interval: Wilson on the k picks for precision@k, a percentile
    bootstrap over the rows for average precision."""
    if metric == "precision_at_k":
        pk = precision_at_k(labels, scores, k, confidence)
        return GateMetric(f"precision_at_{pk.k}", pk.value, pk.low, pk.high, pk.n, pk.k)
    labels, scores = _checked(labels, scores)
    if len(labels) == 0:
        raise ValueError(f"{metric} needs at least one labelled backtest row")
    f = metric_function(metric, k)
    rng = np.random.default_rng(seed)
    draws = [f(labels[i], scores[i]) for i in (rng.integers(0, len(labels), len(labels))
                                               for _ in range(n_boot))]
    tail = (1 - confidence) / 2
    return GateMetric(metric, f(labels, scores), float(np.quantile(draws, tail)),
                      float(np.quantile(draws, 1 - tail)), len(labels), None)


def paired_bootstrap(labels: np.ndarray, candidate: np.ndarray, champion: np.ndarray, k: int,
                     n_boot: int = 500, confidence: float = 0.9,
                     seed: int = 0, metric: str = "precision_at_k") -> PairedComparison:
    """Bootstrap the difference in the gate metric (precision@k by default) between two
    scorers on the same rows.

    Why paired: both models are judged on each resample, so the shared luck of the sample
    cancels and only the models' difference remains. ``diff_low`` is the one-sided lower bound at
    ``confidence``: the candidate is better beyond noise when it is above zero.
    """
    labels, candidate = _checked(labels, candidate)
    _, champion = _checked(labels, champion)
    n = len(labels)
    f = metric_function(metric, k)
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        y = labels[idx]
        diffs[b] = f(y, candidate[idx]) - f(y, champion[idx])
    point = f(labels, candidate) - f(labels, champion)
    return PairedComparison(diff=float(point),
                            diff_low=float(np.quantile(diffs, 1 - confidence)),
                            diff_high=float(np.quantile(diffs, confidence)),
                            n_boot=n_boot, share_better=float((diffs > 0).mean()))


@dataclass(frozen=True)
class Conversion:
    """Hit-to-case conversion of one version: cases / leads with a final outcome."""

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
    if verified == 0:
        return Conversion(issued, 0, 0, float("nan"), 0.0, 1.0)
    low, high = wilson_interval(cases, verified, confidence=confidence)
    return Conversion(issued, verified, cases, cases / verified, float(low), float(high))


def _checked(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate a labels/scores pair: same length, labels 0/1 only, finite scores."""
    labels = np.asarray(labels, dtype="float64")
    scores = np.asarray(scores, dtype="float64")
    if labels.shape != scores.shape:
        raise ValueError(f"labels ({labels.shape}) and scores ({scores.shape}) differ in shape")
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError("backtest labels must be 0 (no case) or 1 (case) on verified rows only")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or infinity")
    return labels.astype("int64"), scores
