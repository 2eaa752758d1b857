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
    assert wilson_interval(0, 0) == (0.0, 1.0)  # nothing verified: anywhere in [0, 1]
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(5, 3)


# ---- one tie rule, one home: the gate's figures come from the same functions ----------------

TIED_Y = [0, 0, 0, 1]  # four tied scores, the case last in row order
TIED_S = [0.5, 0.5, 0.5, 0.5]


def test_tie_rule_is_the_expected_precision_over_random_tie_breaking():
    # one pick among four equally likely rows, one a case: 1/4 (a stable sort would say 0)
    assert precision_at_k(TIED_Y, TIED_S, 1) == 0.25
    assert precision_at_k(list(reversed(TIED_Y)), TIED_S, 1) == 0.25  # row order is irrelevant
    # a clear case on top, then three tied with one case for the one slot left: (1 + 1/3) / 2
    assert precision_at_k([1, 0, 1, 0], [0.9, 0.5, 0.5, 0.5], 2) == pytest.approx(2 / 3)
    # the tied group fully inside the top k counts exactly
    assert precision_at_k([1, 0, 1, 0], [0.9, 0.5, 0.5, 0.1], 3) == pytest.approx(2 / 3)


def test_gate_point_value_and_its_bootstrap_use_the_same_tie_rule():
    from evaluation.metrics import precision_at_k_interval, ranking_metric
    from training.gate_metrics import compare_to_champion, gate_metric

    pk = precision_at_k_interval(TIED_Y, TIED_S, 1)
    assert (pk.value, pk.hits, pk.k, pk.n) == (0.25, 0.25, 1, 4)
    assert gate_metric(np.array(TIED_Y), np.array(TIED_S), "precision_at_k", 1).value == 0.25
    assert ranking_metric("precision_at_k", 1)(np.array(TIED_Y), np.array(TIED_S)) == 0.25
    # a candidate that puts the case first is better by 1 - 0.25 on the full rows
    cmp = compare_to_champion(
        np.array(TIED_Y), np.array([0.0, 0.0, 0.0, 1.0]), np.array(TIED_S), k=1, n_boot=200
    )
    assert cmp.diff == pytest.approx(0.75)


def test_precision_interval_is_wilson_on_the_k_picks():
    from evaluation.metrics import precision_at_k_interval

    pk = precision_at_k_interval([1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0], list(range(12, 0, -1)), 10)
    assert pk.value == pytest.approx(0.4) and pk.k == 10 and pk.n == 12
    assert (pk.low, pk.high) == pytest.approx(wilson_interval(4, 10))


def test_unpaired_bootstrap_brackets_the_value_and_is_reproducible():
    from evaluation.metrics import bootstrap_interval

    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.3).astype(int)
    s = y + rng.normal(size=400)
    a = bootstrap_interval(average_precision, y, s, n_boot=300, seed=1)
    b = bootstrap_interval(average_precision, y, s, n_boot=300, seed=1)
    assert a == b
    assert a.low < a.value < a.high and a.n == 400 and a.n_boot == 300
    # a statistic defined on no resample is refused, not silently NaN
    with pytest.raises(ValueError, match="undefined on every bootstrap resample"):
        bootstrap_interval(average_precision, [0, 0, 0], [0.1, 0.2, 0.3], n_boot=20)


def test_paired_bootstrap_sees_a_real_difference_and_not_a_null_one():
    from evaluation.metrics import paired_bootstrap

    rng = np.random.default_rng(2)
    y = (rng.random(600) < 0.2).astype(int)
    noise = rng.normal(size=600)
    strong, weak = 3 * y + noise, 0.5 * y + noise
    better = paired_bootstrap(average_precision, y, strong, weak, n_boot=300)
    assert better.diff > 0 and better.diff_low > 0 and better.share_better > 0.95
    same = paired_bootstrap(average_precision, y, weak, weak + 1e-12, n_boot=300)
    assert same.diff_low <= 0 <= same.diff_high


def test_conversion_is_wilson_on_verified_leads():
    from evaluation.metrics import conversion

    c = conversion(issued=20, verified=10, cases=3)
    assert c.value == 0.3 and (c.low, c.high) == pytest.approx(wilson_interval(3, 10))
    none = conversion(issued=5, verified=0, cases=0)
    assert math.isnan(none.value) and (none.low, none.high) == (0.0, 1.0)
    with pytest.raises(ValueError, match="bad lead counts"):
        conversion(issued=5, verified=2, cases=3)
