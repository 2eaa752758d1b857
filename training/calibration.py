"""Honest probabilities from few labelled rows: binned calibration with a Beta posterior per bin.

Isotonic regression or Platt scaling fitted on 50 verified leads happily says 1.0 for the top
bin when its five leads all became cases; five cases are not certainty. Here the out-of-fold
scores are cut into quantile bins (about ``rows_per_bin`` labelled rows each, at most
``max_bins``), each bin's case rate is a Beta posterior whose prior is the overall case rate
with the weight of ``prior_strength`` rows, adjacent bins that would break the score's order are
pooled (pool-adjacent-violators on the posterior counts), and the probability of a score is its
bin's posterior mean, never 0 or 1. ``interval`` gives the posterior's equal-tailed interval,
so a page can say "0.62 (0.41-0.80)" rather than "0.62".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import beta as beta_dist
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted


@dataclass(frozen=True)
class Bin:
    """One calibration bin: the scores it covers, its rows and cases, its posterior."""

    low: float
    high: float
    n: int
    cases: int
    a: float
    b: float

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)


class BetaBinCalibrator(BaseEstimator):
    """Map a raw score to P(case) with a Beta posterior per quantile bin (monotone).

    Parameters
    ----------
    rows_per_bin : int
        Labelled rows aimed at per bin (fewer rows: fewer bins).
    max_bins : int
        Upper bound on the number of bins.
    prior_strength : float
        Weight, in rows, of the prior (the overall case rate) in every bin.
    """

    def __init__(
        self, rows_per_bin: int = 25, max_bins: int = 10, prior_strength: float = 4.0
    ) -> None:
        self.rows_per_bin = rows_per_bin
        self.max_bins = max_bins
        self.prior_strength = prior_strength

    def fit(self, scores: ArrayLike, y: ArrayLike) -> BetaBinCalibrator:
        """Bins and posteriors from labelled scores and 0/1 outcomes."""
        s = np.asarray(scores, dtype=np.float64).ravel()
        t = np.asarray(y, dtype=np.float64).ravel()
        if len(s) != len(t) or len(s) == 0:
            raise ValueError(f"scores ({len(s)}) and y ({len(t)}) must be equally long, not empty")
        if not np.isin(t, (0.0, 1.0)).all():
            raise ValueError("y must hold only 0 (no case) and 1 (case)")
        if self.prior_strength <= 0 or self.rows_per_bin < 1 or self.max_bins < 1:
            raise ValueError("prior_strength must be > 0, rows_per_bin and max_bins >= 1")
        rate = (t.sum() + 0.5) / (len(t) + 1.0)  # Jeffreys: never exactly 0 or 1
        a0, b0 = self.prior_strength * rate, self.prior_strength * (1 - rate)
        n_bins = int(np.clip(len(s) // self.rows_per_bin, 1, self.max_bins))
        edges = np.unique(np.quantile(s, np.linspace(0, 1, n_bins + 1)[1:-1]))
        which = np.searchsorted(edges, s, side="right")
        groups = [
            [int((which == i).sum()), int(t[which == i].sum())] for i in range(len(edges) + 1)
        ]
        bounds = [
            [-np.inf if i == 0 else edges[i - 1], np.inf if i == len(edges) else edges[i]]
            for i in range(len(edges) + 1)
        ]
        groups, bounds = _pool_violators(groups, bounds, a0, b0)
        self.bins_ = [
            Bin(lo, hi, n, k, a0 + k, b0 + n - k)
            for (n, k), (lo, hi) in zip(groups, bounds, strict=True)
        ]
        self.edges_ = np.array([b.high for b in self.bins_[:-1]])
        self.base_rate_ = float(rate)
        self.n_ = len(s)
        return self

    def _bins_of(self, scores: ArrayLike) -> np.ndarray:
        check_is_fitted(self, "bins_")
        s = np.asarray(scores, dtype=np.float64).ravel()
        return np.searchsorted(self.edges_, s, side="right")

    def predict(self, scores: ArrayLike) -> np.ndarray:
        """Posterior mean P(case) of each score."""
        means = np.array([b.mean for b in self.bins_])
        return means[self._bins_of(scores)]

    def predict_proba(self, scores: ArrayLike) -> np.ndarray:
        """[P(no case), P(case)] per score (``scores`` may be a column, as for Platt)."""
        p = self.predict(scores)
        return np.column_stack([1 - p, p])

    def interval(self, scores: ArrayLike, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        """Equal-tailed posterior interval of P(case) for each score."""
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level}")
        a = np.array([b.a for b in self.bins_])[self._bins_of(scores)]
        b = np.array([b.b for b in self.bins_])[self._bins_of(scores)]
        tail = (1 - level) / 2
        return beta_dist.ppf(tail, a, b), beta_dist.ppf(1 - tail, a, b)


def _pool_violators(
    groups: list[list[int]], bounds: list[list[float]], a0: float, b0: float
) -> tuple[list[list[int]], list[list[float]]]:
    """Merge adjacent bins until posterior means rise with the score (PAV on the counts)."""
    groups = [g[:] for g in groups]
    bounds = [b[:] for b in bounds]
    i = 0
    while i < len(groups) - 1:
        left = (a0 + groups[i][1]) / (a0 + b0 + groups[i][0])
        right = (a0 + groups[i + 1][1]) / (a0 + b0 + groups[i + 1][0])
        if right < left:
            groups[i] = [groups[i][0] + groups[i + 1][0], groups[i][1] + groups[i + 1][1]]
            bounds[i] = [bounds[i][0], bounds[i + 1][1]]
            del groups[i + 1], bounds[i + 1]
            i = max(i - 1, 0)
        else:
            i += 1
    return groups, bounds


def reliability_plot(calibrator: BetaBinCalibrator, path: str | Path) -> None:
    """Per bin: the observed case rate of its labelled rows against the posterior probability
    given, with the 90% posterior interval and the number of rows; saved as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    check_is_fitted(calibrator, "bins_")
    bins = calibrator.bins_
    given = np.array([b.mean for b in bins])
    observed = np.array([b.cases / b.n if b.n else np.nan for b in bins])
    low = beta_dist.ppf(0.05, [b.a for b in bins], [b.b for b in bins])
    high = beta_dist.ppf(0.95, [b.a for b in bins], [b.b for b in bins])
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", ls="--", label="perfect calibration")
    ax.errorbar(given, observed, yerr=None, fmt="o", label="observed case rate per bin")
    ax.vlines(given, low, high, color="tab:orange", label="90% posterior interval")
    for g, o, b in zip(given, observed, bins, strict=True):
        ax.annotate(f"n={b.n}", (g, o), textcoords="offset points", xytext=(4, -10), fontsize=8)
    ax.set(
        xlabel="probability given (posterior mean)",
        ylabel="observed case rate",
        xlim=(0, 1),
        ylim=(0, 1),
        title=f"Reliability ({calibrator.n_} labelled rows, {len(bins)} bins)",
    )
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
