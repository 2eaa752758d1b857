"""default_scorer: fallback to the detector, learning from outcomes, calibration, conventions."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from evaluation.metrics import precision_at_k, roc_auc
from training.scorers import default_scorer


def planted(n: int = 1500, seed: int = 0):
    """Frauds that are *not* outliers (a subtle joint shift) plus honest outliers (noise).

    An unsupervised detector ranks the honest outliers first; outcomes should teach the scorer
    what fraud looks like here.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    fraud = rng.random(n) < 0.08
    X[fraud, 0] += 1.5
    X[fraud, 1] -= 1.5
    odd = (~fraud) & (rng.random(n) < 0.05)
    X[odd, 4:] *= 6.0  # seasonal / new stations: odd but honest
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]), fraud.astype(int)


def verified(fraud: np.ndarray, share: float, seed: int = 1) -> np.ndarray:
    """Outcomes for a random ``share`` of rows, NaN (never verified) for the rest."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random(len(fraud)) < share, fraud, np.nan).astype(float)


def test_without_labels_the_ranking_is_the_detectors():
    X, _ = planted(n=400)
    scorer = default_scorer(0).fit(X, np.full(len(X), np.nan))
    assert scorer.mode_ == "detector" and scorer.booster_ is None
    rho = spearmanr(scorer.decision_function(X), scorer.detector_.decision_function(X)).statistic
    assert rho == pytest.approx(1.0)
    with pytest.raises(ValueError, match="verified outcomes"):
        scorer.predict_proba(X)


def test_with_outcomes_it_beats_the_detector_on_planted_fraud():
    X, fraud = planted()
    train, test = np.arange(1000), np.arange(1000, 1500)
    scorer = default_scorer(0).fit(X.iloc[train], verified(fraud[train], 0.4))
    s_model = scorer.decision_function(X.iloc[test])
    s_det = scorer.detector_.decision_function(X.iloc[test])
    # measured 0.871 vs 0.722
    assert roc_auc(fraud[test], s_model) > roc_auc(fraud[test], s_det) + 0.10
    assert precision_at_k(fraud[test], s_model, 20) > precision_at_k(fraud[test], s_det, 20)


def test_probability_is_calibrated_better_than_a_constant():
    X, fraud = planted()
    train, test = np.arange(1000), np.arange(1000, 1500)
    scorer = default_scorer(0).fit(X.iloc[train], verified(fraud[train], 0.5))
    p = scorer.predict_proba(X.iloc[test])[:, 1]
    assert ((p >= 0) & (p <= 1)).all()
    brier = np.mean((p - fraud[test]) ** 2)
    constant = np.mean((fraud[train].mean() - fraud[test]) ** 2)
    assert brier < 0.9 * constant  # measured 0.81x on this data
    assert abs(p.mean() - fraud[test].mean()) < 0.05  # no systematic over/under-statement


def test_one_pass_scoring_equals_the_two_calls():
    X, fraud = planted(n=600)
    scorer = default_scorer(0).fit(X.iloc[:400], verified(fraud[:400], 0.5))
    score, probability = scorer.score_and_probability(X.iloc[400:])
    np.testing.assert_array_equal(score, scorer.decision_function(X.iloc[400:]))
    np.testing.assert_array_equal(probability, scorer.predict_proba(X.iloc[400:])[:, 1])
    unlabelled = default_scorer(0).fit(X, np.full(len(X), np.nan))
    score, probability = unlabelled.score_and_probability(X)
    np.testing.assert_array_equal(score, unlabelled.decision_function(X))
    assert np.isnan(probability).all()


def test_deterministic_and_booster_exposed():
    X, fraud = planted(n=600)
    y = verified(fraud, 0.5)
    a = default_scorer(3).fit(X, y)
    b = default_scorer(3).fit(X, y)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))
    assert a.booster_.num_feature() == X.shape[1] + 1  # inputs + detector score
    assert a.feature_names_for_booster_ == [*X.columns, "detector_score"]


def test_only_confirmed_cases_still_learns_with_unlabelled_as_weak_negatives():
    X, fraud = planted()
    y = np.where((fraud == 1) & (np.random.default_rng(2).random(len(fraud)) < 0.3), 1.0, np.nan)
    scorer = default_scorer(0).fit(X, y)
    assert scorer.mode_ == "supervised"
    assert roc_auc(fraud, scorer.decision_function(X)) > 0.8


@pytest.mark.parametrize(
    ("y", "match"),
    [
        ([0, 1, 2, np.nan], "row 2"),
        ([0, 1], "2 values but X has 4 rows"),
    ],
)
def test_bad_outcomes_are_named(y, match):
    with pytest.raises(ValueError, match=match):
        default_scorer(0).fit(np.random.default_rng(0).normal(size=(4, 2)), y)


# Checks that assume a general classifier, which the outcome contract rules out on purpose:
# y is 1 (case) / 0 (no case) / NaN (never verified), so labels such as 2 or "one", multi-class
# targets and "NaN in y must raise" do not apply; decision_function is a blend of the model's
# and the detector's ranks (in [0, 1]), so it is neither centred on 0 nor ordered exactly like
# the calibrated predict_proba; with a single class there is nothing to calibrate on.
_LABELS = "y must be 1/0/NaN: the check passes labels such as 2, strings or multi-class targets"
EXPECTED_SCORER_FAILURES = {
    name: _LABELS
    for name in (
        "check_fit_score_takes_y",
        "check_estimators_overwrite_params",
        "check_dont_overwrite_parameters",
        "check_estimators_fit_returns_self",
        "check_readonly_memmap_input",
        "check_n_features_in_after_fitting",
        "check_positive_only_tag_during_fit",
        "check_estimators_dtypes",
        "check_dtype_object",
        "check_f_contiguous_array_estimator",
        "check_classifier_data_not_an_array",
        "check_classifiers_classes",
        "check_classifiers_regression_target",
        "check_supervised_y_2d",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_fit2d_1feature",
        "check_dict_unchanged",
        "check_fit2d_predict1d",
    )
} | {
    "check_supervised_y_no_nan": "NaN in y means never verified (unlabelled), by contract",
    "check_classifiers_one_label": "one class and no unlabelled rows: nothing to calibrate on",
    "check_classifiers_train": "decision_function is a rank blend in [0, 1], not centred on 0",
    "check_decision_proba_consistency": "ranking blends the detector; probability does not",
}


def _light_scorer():
    from training.detectors import DetectorEnsemble
    from training.scorers import LeadScorer

    return LeadScorer(
        detector=DetectorEnsemble(members=("iforest",)), n_estimators=20, random_state=0
    )


from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402


@parametrize_with_checks(
    [_light_scorer()], expected_failed_checks=lambda est: EXPECTED_SCORER_FAILURES
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
