"""The point comparison on data with known answers: equal slots, unfilled slots are misses,
the same judged rows for every model, and overlap on the common top-k.

Small in-memory periods (two districts, known frauds) through ``training.point_backtest``; the
estimators are the real ones (``RuleScorer``) or a plain scikit-learn-shaped scorer over one
feature, so the expected figures can be counted by hand.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from features.rules import Rule, RuleSet
from training.point_backtest import Period, compare, fraud_by
from training.point_periods import cutoffs
from training.rule_scorer import RuleScorer


class ByFeature:
    """Scores by one column (higher = more suspicious); learns nothing."""

    def __init__(self, column: str) -> None:
        self.column = column

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> ByFeature:
        return self

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        return X[self.column].to_numpy(dtype=float)


def _period() -> Period:
    # 2 districts x 5 entities; x is the suspicious signal, frauds are the top 2 of x per
    # district; the rule "x > 0.85" fires on one entity per district only
    x = [0.9, 0.8, 0.3, 0.2, 0.1, 0.95, 0.7, 0.4, 0.35, 0.05]
    frame = pd.DataFrame(
        {
            "entity_id": [f"e{i}" for i in range(10)],
            "district": ["a"] * 5 + ["b"] * 5,
            "x": x,
            "label": [1, 0, np.nan, np.nan, 0, 1, np.nan, 0, np.nan, np.nan],
        }
    )
    fraud = pd.Series([True, True, False, False, False, True, True, False, False, False])
    # judged: e1 (0, x 0.8), e2 (1, x 0.3), e7 (0, x 0.4) became known in the period
    outcome = pd.Series([np.nan, 0, 1, np.nan, np.nan, np.nan, np.nan, 0, np.nan, np.nan])
    return Period("p1", frame, frame, outcome.astype(float), fraud)


def _rules(tie_break: str | None) -> RuleScorer:
    return RuleScorer(
        RuleSet((Rule("high_x", "x", ">", 0.85, "{value}"),), tie_break=tie_break), {"x": "high"}
    )


def test_every_model_gets_the_same_slots_and_a_narrow_rule_counts_its_empty_slots_as_misses():
    result = compare(
        [_period()],
        {
            "learnt": lambda: ByFeature("x"),
            "rule": lambda: _rules(None),
            "rule_tied": lambda: _rules("x"),
        },
        {"learnt": ["x"], "rule": ["x"], "rule_tied": ["x"]},
        k=2,
        capacity=2,
    )
    per = result.per_period.set_index("model")
    assert (per["slots"] == 4).all()
    # the learnt model's top 2 per district are the four frauds
    assert per.loc["learnt", "truth_hits"] == 4 and per.loc["learnt", "filled"] == 4
    # the rule fires on e0 and e5 only: 2 of 4 slots filled, both true, the rest are misses
    assert per.loc["rule", "filled"] == 2 and per.loc["rule", "truth_hits"] == 2
    assert result.summary.loc["rule", "backtest_truth_precision"] == pytest.approx(0.5)
    # with a tie-break the rule fills its slots with the next entities in tie-break order
    assert per.loc["rule_tied", "filled"] == 4 and per.loc["rule_tied", "fired_in_top"] == 2
    assert result.summary.loc["rule_tied", "backtest_truth_precision"] == pytest.approx(1.0)
    assert result.summary.loc["learnt", "backtest_truth_precision"] == pytest.approx(1.0)


def test_the_labels_judge_the_same_rows_for_every_model():
    result = compare(
        [_period()],
        {"learnt": lambda: ByFeature("x"), "rule": lambda: _rules(None)},
        {"learnt": ["x"], "rule": ["x"]},
        k=1,
        capacity=2,
    )
    per = result.per_period.set_index("model")
    assert (per["n_judged"] == 3).all()
    # judged rows: x 0.8 (0), 0.3 (1), 0.4 (0): the learnt top 1 is 0.8, a miss
    assert per.loc["learnt", "precision_at_k"] == 0.0
    assert per.loc["learnt", "average_precision"] == pytest.approx(1 / 3)
    # the rule fires on none of them: all tied, precision at 1 is the base rate
    assert per.loc["rule", "precision_at_k"] == pytest.approx(1 / 3)


def test_overlap_is_the_share_of_the_common_top_k_and_a_twin_overlaps_fully():
    result = compare(
        [_period(), _period()],
        {
            "learnt": lambda: ByFeature("x"),
            "rule": lambda: _rules(None),
            "twin": lambda: _rules(None),
        },
        {"learnt": ["x"], "rule": ["x"], "twin": ["x"]},
        k=2,
        capacity=2,
    )
    table = result.overlap
    assert table.loc["twin", "rule"] == 1.0 and table.loc["rule", "twin"] == 1.0
    # the rule's 2 entities are in the learnt top-4; the learnt model's 4, half in the rule's
    assert table.loc["rule", "learnt"] == 1.0
    assert table.loc["learnt", "rule"] == pytest.approx(0.5)
    tags = result.tags("twin")
    assert tags["compare.overlap.rule"] == "1.0000" and "compare.overlap.twin" not in tags


def test_truth_by_a_cutoff_counts_only_evasion_started_by_then():
    truth = pd.DataFrame({"is_fraud": [True, True, False]}, index=["a", "b", "c"])
    monthly = pd.Series({"a": [date(2024, 1, 1)], "b": [date(2025, 3, 1)]})
    got = fraud_by(truth, monthly, pd.Series(["a", "b", "c", "d"]), date(2024, 12, 31))
    assert got.tolist() == [True, False, False, False]
    assert fraud_by(None, None, pd.Series(["a"]), None) is None


def test_walk_forward_cutoffs_spread_over_the_holdout_window():
    assert cutoffs(date(2025, 6, 30), 12) == [
        date(2024, 6, 30),
        date(2024, 10, 31),
        date(2025, 2, 28),
    ]
    assert cutoffs(date(2025, 6, 30), 2) == [date(2025, 4, 30), date(2025, 5, 31)]
