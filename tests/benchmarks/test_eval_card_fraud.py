"""The card-fraud daily protocol: simulated payments, delayed labels, card precision@k per day."""

import numpy as np
import pytest

from benchmarks.card_fraud import Simulation, card_precision_at_k, features, folds, run, simulate

SMALL = Simulation(customers=600, terminals=1200, days=75, seed=3)


@pytest.fixture(scope="module")
def payments():
    return simulate(SMALL)


def test_the_simulation_has_the_three_kinds_of_fraud_at_a_low_rate(payments):
    kinds = payments.groupby("scenario").size()
    assert set(kinds.index) == {0, 1, 2, 3}
    assert 0.002 < payments["is_fraud"].mean() < 0.05
    assert payments["ts"].is_monotonic_increasing
    assert (payments.loc[payments["scenario"] == 1, "amount"] > SMALL.big_amount).all()


def test_terminal_risk_uses_only_labels_older_than_the_delay(payments):
    day = 50
    before = features(payments)
    relabelled = payments.copy()
    late = relabelled["day"] > day - 7  # labels not yet known on `day`
    relabelled.loc[late, "is_fraud"] = 1 - relabelled.loc[late, "is_fraud"]
    after = features(relabelled)
    on_day = (payments["day"] == day).to_numpy()
    risk = [c for c in before.columns if c.startswith("terminal_risk")]
    assert np.array_equal(before.loc[on_day, risk].to_numpy(), after.loc[on_day, risk].to_numpy())
    # and the labels of the day just before the delay do count
    known = relabelled.copy()
    edge = known["day"] == day - 7
    known.loc[edge, "is_fraud"] = 1 - known.loc[edge, "is_fraud"]
    assert not np.array_equal(
        before.loc[on_day, risk].to_numpy(), features(known).loc[on_day, risk].to_numpy()
    )


def test_customer_windows_count_the_payment_itself_and_the_days_before(payments):
    X = features(payments)
    assert (X["customer_n_1d"] >= 1).all()
    assert (X["customer_n_30d"] >= X["customer_n_7d"]).all()
    assert (X["customer_n_7d"] >= X["customer_n_1d"]).all()


def test_card_precision_counts_cards_not_payments():
    days = np.array([0, 0, 0, 0, 1, 1])
    cards = np.array([1, 1, 2, 3, 1, 2])
    y = np.array([1, 1, 0, 0, 0, 1])
    s = np.array([0.9, 0.8, 0.7, 0.1, 0.9, 0.2])
    assert card_precision_at_k(days, cards, y, s, k=2) == [0.5, 0.5]


def test_too_few_days_for_the_folds_is_refused_with_the_days_needed():
    with pytest.raises(ValueError, match="need at least 72 days"):
        folds(days=60, n_folds=4)


def test_every_method_beats_chance_by_far_and_the_scorer_keeps_up_with_lightgbm():
    rows = run(SMALL, n_folds=2, k=20, names=["default_scorer", "lightgbm", "logistic_regression"])
    mean = rows.groupby("method")["card_precision_at_k"].mean()
    # measured on this simulation: scorer ~0.5, LightGBM ~0.5, LR ~0.5; a judged day has
    # about 4% compromised cards, so random picking would give ~0.04
    assert (mean > 0.25).all(), mean.to_dict()
    assert mean["default_scorer"] >= mean["lightgbm"] - 0.1, mean.to_dict()
