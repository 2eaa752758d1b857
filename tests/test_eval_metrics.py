"""Ranking metrics against values worked out by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from evaluation.metrics import (
    average_precision,
    entity_precision_at_k_by_period,
    hits_at_k,
    lift_at_k,
    mean_entity_precision_at_k,
    precision_at_k,
    recall_at_k,
    roc_auc,
    wilson_interval,
)

Y = [1, 0, 1, 0]
S = [0.9, 0.8, 0.7, 0.1]


def test_precision_recall_lift_at_k_by_hand():
    assert precision_at_k(Y, S, 1) == 1.0
    assert precision_at_k(Y, S, 2) == 0.5
    assert precision_at_k(Y, S, 3) == pytest.approx(2 / 3)
    assert recall_at_k(Y, S, 1) == 0.5
    assert recall_at_k(Y, S, 3) == 1.0
    assert lift_at_k(Y, S, 1) == 2.0  # precision 1 over base rate 0.5


def test_k_larger_than_n_is_clipped():
    assert precision_at_k(Y, S, 10) == 0.5
    assert recall_at_k(Y, S, 10) == 1.0


def test_ties_are_shared_pro_rata():
    # two items tied at the top, one positive: the expected precision of one pick is 0.5
    assert precision_at_k([1, 0, 0], [0.5, 0.5, 0.1], 1) == 0.5
    assert hits_at_k([1, 0, 0], [0.5, 0.5, 0.1], 1) == 0.5
    # order of the tied items does not matter
    assert precision_at_k([0, 1, 0], [0.5, 0.5, 0.1], 1) == 0.5
    # a tied group of 3 with 2 positives, 2 slots left after one clear winner (a negative)
    assert hits_at_k([0, 1, 1, 0, 0], [0.9, 0.4, 0.4, 0.4, 0.0], 3) == pytest.approx(4 / 3)


def test_average_precision_and_auc_by_hand():
    # positives at ranks 1 and 3: AP = (1/1 + 2/3) / 2
    assert average_precision(Y, S) == pytest.approx((1 + 2 / 3) / 2)
    # pairs (pos, neg): (.9,.8) (.9,.1) (.7,.8) (.7,.1) -> 3 of 4 ordered right
    assert roc_auc(Y, S) == 0.75
    assert roc_auc([1, 0], [0.3, 0.3]) == 0.5  # a tie counts half


def test_undefined_cases_return_nan():
    assert math.isnan(recall_at_k([0, 0], [0.1, 0.2], 1))
    assert math.isnan(roc_auc([1, 1], [0.1, 0.2]))
    assert math.isnan(average_precision([0, 0], [0.1, 0.2]))


@pytest.mark.parametrize(
    ("y", "s", "k", "match"),
    [
        ([1, 0], [0.1], 1, "2 items"),
        ([1, 2], [0.1, 0.2], 1, "0/1"),
        ([1, 0], [0.1, np.nan], 1, "finite"),
        ([1, 0], [0.1, 0.2], 0, "positive integer"),
        ([], [], 1, "empty"),
    ],
)
def test_bad_input_is_named(y, s, k, match):
    with pytest.raises(ValueError, match=match):
        precision_at_k(y, s, k)


def test_entity_precision_per_period_by_hand():
    frame = pd.DataFrame(
        {
            "period": [1, 1, 1, 1, 2, 2, 2],
            "entity_id": ["A", "A", "B", "C", "A", "B", "C"],
            "score": [0.9, 0.2, 0.8, 0.1, 0.3, 0.95, 0.5],
            "label": [0, 1, 0, 1, 0, 1, 1],
        }
    )
    # period 1: A (max .9, fraud via its 2nd record), B (.8, honest), C (.1) -> top 2 = A, B -> 0.5
    # period 2: B (.95, fraud), C (.5, fraud), A (.3) -> top 2 = B, C -> 1.0
    per = entity_precision_at_k_by_period(frame, 2)
    assert per.to_dict() == {1: 0.5, 2: 1.0}
    assert mean_entity_precision_at_k(frame, 2) == 0.75


def test_entity_precision_names_missing_column():
    with pytest.raises(KeyError, match="period"):
        entity_precision_at_k_by_period(pd.DataFrame({"score": [1.0]}), 1)


def test_wilson_interval_by_hand():
    low, high = wilson_interval(3, 10)
    assert low == pytest.approx(0.1078, abs=1e-4)
    assert high == pytest.approx(0.6032, abs=1e-4)
    low, high = wilson_interval(0, 20)
    assert low == 0.0 and 0.0 < high < 0.2  # stays inside [0, 1] with no success
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(5, 3)
