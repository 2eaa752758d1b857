"""The scorer learns from the labels how far to trust the detector (``detector_weight_``)."""

import lightgbm as lgb
import numpy as np

from evaluation.metrics import roc_auc
from training.scorers import BLEND_PRIOR, default_scorer, detector_label_auc


def too_regular(n: int = 2000, seed: int = 0):
    """Frauds that are *too ordinary* (every feature near the centre) among spread-out honest
    rows: a rarity detector ranks them last, i.e. it is inverted here."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)) * rng.choice([1.0, 3.0], size=(n, 1))
    fraud = rng.random(n) < 0.1
    X[fraud] = rng.normal(scale=0.2, size=(int(fraud.sum()), 5))
    return X, fraud.astype(int)


def outliers(n: int = 2000, seed: int = 0):
    """Frauds shifted far out in two columns: the detector is right here."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    fraud = rng.random(n) < 0.05
    X[fraud, :2] += 4.0
    return X, fraud.astype(int)


def cases_only(fraud: np.ndarray, share: float, seed: int = 1) -> np.ndarray:
    """ADBench's setting: ``share`` of the frauds labelled 1, every other row NaN."""
    rng = np.random.default_rng(seed)
    return np.where((fraud == 1) & (rng.random(len(fraud)) < share), 1.0, np.nan)


def test_inverted_detector_gets_no_positive_weight_and_the_scorer_keeps_up_with_lightgbm():
    X, fraud = too_regular()
    train, test = np.arange(1400), np.arange(1400, 2000)
    y = cases_only(fraud[train], 0.3)
    scorer = default_scorer(0).fit(X[train], y)
    assert scorer.detector_auc_ < 0.3  # it ranks the labelled cases below the unlabelled rows
    assert scorer.detector_weight_ < 0  # flipped, not trusted as it is
    plain = lgb.LGBMClassifier(random_state=0, verbose=-1, n_jobs=1)
    plain.fit(X[train], np.nan_to_num(y))
    plain_auc = roc_auc(fraud[test], plain.predict_proba(X[test])[:, 1])
    assert roc_auc(fraud[test], scorer.decision_function(X[test])) >= plain_auc - 0.02


def test_good_detector_weighs_more_than_the_prior():
    X, fraud = outliers()
    y = cases_only(fraud, 0.3)
    scorer = default_scorer(0).fit(X, y)
    prior = BLEND_PRIOR / (BLEND_PRIOR + scorer.n_positive_)
    assert scorer.detector_auc_ > 0.95
    assert scorer.detector_weight_ > prior


def test_without_labels_no_auc_and_detector_mode():
    X, _ = outliers(n=300)
    scorer = default_scorer(0).fit(X, np.full(len(X), np.nan))
    assert np.isnan(scorer.detector_auc_)
    assert scorer.mode_ == "detector"


def test_fixed_blend_is_kept_as_given():
    X, fraud = too_regular(n=600)
    y = cases_only(fraud, 0.5)
    scorer = default_scorer(0).set_params(detector_blend=0.3).fit(X, y)
    assert scorer.detector_weight_ == 0.3


def test_detector_label_auc_cases_vs_non_cases_then_vs_unlabelled():
    scores = np.array([0.9, 0.8, 0.1, 0.2, 0.5])
    assert detector_label_auc(scores, np.array([1, 1, 0, 0, np.nan])) == 1.0
    assert detector_label_auc(scores, np.array([1, np.nan, np.nan, np.nan, np.nan])) == 1.0
    assert detector_label_auc(scores, np.array([np.nan, 1, 0, np.nan, 0])) == 1.0
    assert np.isnan(detector_label_auc(scores, np.full(5, np.nan)))


def test_directions_reach_the_default_detector_by_name():
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(300, 2)), columns=["dispersion", "size"])
    scorer = default_scorer(0, directions={"dispersion": "low"}).fit(frame)
    np.testing.assert_array_equal(scorer.detector_.direction_signs_, [-1, 0])
