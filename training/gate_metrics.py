"""The offline gate's figures, composed from ``evaluation.metrics`` (where every statistic is
computed, with one tie rule): which metric a policy names, its value with an interval, and the
paired comparison against the champion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.metrics import (
    RANKING_METRICS,
    PairedComparison,
    bootstrap_interval,
    paired_bootstrap,
    precision_at_k_interval,
    ranking_metric,
)

#: The offline gate's metrics: precision in the top k (a unit's verification budget), or average
#: precision over the whole backtest where the base rate is so high that the top k is always
#: right (real procurement data: half the bids are collusive).
GATE_METRICS = tuple(RANKING_METRICS)


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


def gate_metric(
    labels: np.ndarray,
    scores: np.ndarray,
    metric: str,
    k: int,
    n_boot: int = 500,
    seed: int = 0,
    confidence: float = 0.95,
) -> GateMetric:
    """The gate metric with an interval: Wilson on the k picks for precision@k, a percentile
    bootstrap over the rows for average precision."""
    if len(labels) == 0:
        raise ValueError(f"{metric} needs at least one labelled backtest row")
    if metric == "precision_at_k":
        pk = precision_at_k_interval(labels, scores, k, confidence)
        return GateMetric(f"precision_at_{pk.k}", pk.value, pk.low, pk.high, pk.n, pk.k)
    f = ranking_metric(metric, k)
    iv = bootstrap_interval(f, labels, scores, n_boot=n_boot, confidence=confidence, seed=seed)
    return GateMetric(metric, iv.value, iv.low, iv.high, iv.n, None)


def compare_to_champion(
    labels: np.ndarray,
    candidate: np.ndarray,
    champion: np.ndarray,
    k: int,
    n_boot: int = 500,
    confidence: float = 0.9,
    seed: int = 0,
    metric: str = "precision_at_k",
) -> PairedComparison:
    """Candidate minus champion on the gate metric, paired bootstrap over the same rows."""
    return paired_bootstrap(
        ranking_metric(metric, min(k, len(labels))),
        labels,
        candidate,
        champion,
        n_boot=n_boot,
        confidence=confidence,
        seed=seed,
    )
