"""Calibration from few labelled rows: shrunk towards the base rate, monotone, never 0 or 1,
with an interval that narrows as rows accumulate; the reliability plot is written."""

from __future__ import annotations

import numpy as np
import pytest

from training.calibration import BetaBinCalibrator, reliability_plot
from training.scorers import default_scorer


def test_a_handful_of_cases_is_not_certainty() -> None:
    scores = np.arange(50, dtype=float)
    y = (scores >= 45).astype(float)  # the top 5 all became cases
    cal = BetaBinCalibrator().fit(scores, y)
    p = cal.predict(scores)
    assert 0 < p.min() and p.max() < 0.9
    assert np.all(np.diff(p) >= 0)  # monotone in the score
    low, high = cal.interval([49.0])
    assert low[0] < p[-1] < high[0] and high[0] - low[0] > 0.15  # and it says how unsure


def test_more_rows_narrow_the_interval_and_follow_the_data() -> None:
    rng = np.random.default_rng(0)
    s = rng.uniform(size=5000)
    y = (rng.uniform(size=5000) < s).astype(float)  # P(case) = score
    cal = BetaBinCalibrator(rows_per_bin=200, max_bins=10).fit(s, y)
    assert cal.predict([0.95])[0] == pytest.approx(0.95, abs=0.06)
    assert cal.predict([0.05])[0] == pytest.approx(0.05, abs=0.06)
    low, high = cal.interval([0.5])
    assert high[0] - low[0] < 0.12


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="y must hold only 0"):
        BetaBinCalibrator().fit([1.0, 2.0], [0.0, 2.0])
    with pytest.raises(ValueError, match="equally long"):
        BetaBinCalibrator().fit([1.0, 2.0], [0.0])


def test_the_scorer_calibrates_with_it_and_the_plot_is_drawn(tmp_path) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3))
    y = np.full(400, np.nan)
    y[:60] = (X[:60, 0] > 0.8).astype(float)  # 60 verified rows, a handful of cases
    scorer = default_scorer(0).fit(X, y)
    _, p = scorer.score_and_probability(X)
    assert isinstance(scorer.calibrator_, BetaBinCalibrator)
    assert np.isfinite(p).all() and 0 < p.min() and p.max() < 1
    reliability_plot(scorer.calibrator_, tmp_path / "reliability.png")
    assert (tmp_path / "reliability.png").stat().st_size > 1000
