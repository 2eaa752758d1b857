"""The capacity pick: by score or by expected value (probability x amount), per district."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.model import AmountAtStake, Policy
from training.train_leads import top_per_district, with_stakes


def _frame() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.DataFrame(
        {
            "entity_id": list("ABCDE"),
            "district": ["X"] * 4 + ["Y"],
            "amount_at_stake": [1e4, 5e6, np.nan, 2e6, 1e5],
        }
    )
    scored = pd.DataFrame(
        {"score": [0.9, 0.5, 0.8, 0.4, 0.3], "probability": [0.9, 0.3, 0.8, 0.5, 0.2]}
    )
    return frame, scored


def test_score_pick_takes_the_most_suspicious():
    frame, scored = _frame()
    picked = top_per_district(frame, scored, 2, "score")
    assert picked["entity_id"].tolist() == ["A", "C", "E"]


def test_expected_value_pick_takes_what_is_worth_most():
    frame, scored = _frame()
    picked = top_per_district(frame, scored, 2, "expected_value")
    # B: 0.3 x 5M = 1.5M, D: 0.5 x 2M = 1M, A: 9k, C: no amount (last)
    assert picked["entity_id"].tolist() == ["B", "D", "E"]
    assert picked["rank"].tolist() == [1, 2, 1]


def test_an_unknown_pick_is_refused():
    frame, scored = _frame()
    with pytest.raises(ValueError, match="pick"):
        top_per_district(frame, scored, 2, "amount")
    with pytest.raises(ValueError, match="pick must be one of"):
        Policy(pick="amount")  # type: ignore[arg-type]


def test_undeclared_amount_gives_no_amount_and_no_unit():
    frame, scored = _frame()
    picked = top_per_district(frame, scored, 2, "score")
    out = with_stakes(picked, object(), [], frame, AmountAtStake())
    assert out["amount"].isna().all() and out["amount_unit"].isna().all()
    declared = with_stakes(
        picked, object(), [], frame, AmountAtStake(estimate=lambda s, c, r: None)
    )
    assert declared["amount"].tolist()[:1] == [1e4] and set(declared["amount_unit"]) == {"yuan"}
