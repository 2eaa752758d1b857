"""Time-ordered backtests on tiny hand-made data."""

import numpy as np
import pandas as pd
import pytest

from evaluation.backtest import backtest, estimator_fit_score, training_frame


def _frame() -> pd.DataFrame:
    # 4 periods x 3 entities; entity "c" is the fraudster every period
    rows = []
    for p in range(4):
        for e, x, y in (("a", 1.0, 0), ("b", 2.0, 0), ("c", 9.0, 1)):
            rows.append({"period": p, "entity_id": e, "x": x + p, "label": y, "truth": y})
    return pd.DataFrame(rows)


def test_training_frame_blanks_labels_not_yet_known():
    f = _frame()
    train = training_frame(f, 3, period="period", label="label", delay=2)
    assert sorted(train["period"].unique()) == [0, 1, 2]  # never the scored period
    known = train.groupby("period")["label"].apply(lambda s: s.notna().all()).to_dict()
    assert known == {0: True, 1: True, 2: False}  # period 2's outcomes are not back yet


def test_backtest_passes_only_past_rows_and_delayed_labels():
    seen = []

    def fit_score(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        seen.append((int(test["period"].iloc[0]), int(train["label"].notna().sum()), len(train)))
        return test["x"].to_numpy()

    result = backtest(_frame(), fit_score, delay=2, ks=(1,), truth="truth", entity="entity_id")
    # period 0: nothing in the past; period 1: past rows exist but no label known yet (skipped)
    assert seen == [(2, 3, 6), (3, 6, 9)]
    assert result["period"].tolist() == [2, 3]
    assert result["precision@1"].tolist() == [1.0, 1.0]
    assert result["entity_precision@1"].tolist() == [1.0, 1.0]
    assert result["n_train_labelled"].tolist() == [3, 6]


def test_backtest_measures_against_truth_not_label():
    f = _frame()
    f["label"] = np.nan  # nothing ever verified
    f.loc[f["entity_id"] == "a", "label"] = 0

    def fit_score(train, test):
        return -test["x"].to_numpy()  # a bad model: ranks the fraudster last

    result = backtest(f, fit_score, delay=1, ks=(1, 10), truth="truth")
    assert result["precision@1"].eq(0.0).all()
    assert result["precision@10"].eq(1 / 3).all()  # k clipped to the 3 rows of a period
    assert result["roc_auc"].eq(0.0).all()


def test_backtest_with_an_estimator():
    from sklearn.linear_model import LogisticRegression

    class Model(LogisticRegression):
        def fit(self, X, y):
            keep = ~np.isnan(y)
            return super().fit(X[keep], y[keep])

    result = backtest(_frame(), estimator_fit_score(Model, ["x"]), delay=1, ks=(1,), truth="truth")
    assert result["precision@1"].eq(1.0).all()


def test_backtest_errors_name_the_problem():
    with pytest.raises(KeyError, match="truth_col"):
        backtest(_frame(), lambda a, b: b["x"].to_numpy(), truth="truth_col")
    with pytest.raises(ValueError, match="returned"):
        backtest(_frame(), lambda a, b: np.zeros(1))


def test_compare_picks_by_score_and_by_expected_value_known_answer():
    from evaluation.backtest import compare_picks, format_picks

    labels = np.array([1, 0, 1, 1, 0, 1])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    probability = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    amount = np.array([1e3, 1e3, 1e3, 1e6, 1e6, 5e6])
    out = compare_picks(labels, scores, probability, amount, k=2).set_index("pick")
    # by score: rows 0, 1 (one case worth 1,000); by expected value: rows 5 (2M) and 3 (600k)
    assert out.loc["score", "precision_at_k"] == 0.5
    assert out.loc["score", "amount_recovered"] == 1e3
    assert out.loc["expected_value", "precision_at_k"] == 1.0
    assert out.loc["expected_value", "amount_recovered"] == 5e6 + 1e6
    assert out["amount_of_cases"].iloc[0] == 1e3 + 1e3 + 1e6 + 5e6
    assert "expected_value p@k 1.00, recovered 6,000,000" in format_picks(out.reset_index())


def test_an_expected_value_pick_without_probabilities_is_reported_not_faked():
    from evaluation.backtest import compare_picks

    out = compare_picks(np.array([1, 0]), np.array([0.9, 0.1]), None, np.array([1.0, 2.0]), 1)
    row = out.set_index("pick").loc["expected_value"]
    assert np.isnan(row["precision_at_k"]) and row["note"] == "no calibrated probability"
