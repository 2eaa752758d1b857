"""The detector-weight rule as pure functions, and its leave-one-dataset-out selection (issue 14).

Floors from ``python -m benchmarks.blend_selection`` (10% of training anomalies labelled, 2 seeds,
8 small shared ADBench sets + 4 ODDS-only sets; README "Scorer"): on ODDS vertebral the detector
is inverted (test AUCROC about 0.3) and the current weights keep it positive with 2 labelled
cases; ``rule_weight`` with fewer AUC pseudo-cases flips it.
"""

import numpy as np
import pandas as pd
import pytest

from benchmarks.adbench import Dataset
from benchmarks.blend_selection import (
    CURRENT,
    EVIDENCE,
    Setting,
    collect,
    evaluate,
    leave_one_dataset_out,
    objective,
    setting_scores,
    weight_of,
)
from training.detectors import default_detector
from training.scorers import (
    BLEND_GRID,
    BLEND_PRIOR,
    LeadScorer,
    best_blend_weight,
    blend_quality,
    combined_weight,
    rule_weight,
)


def test_rule_weight_is_zero_at_chance_negative_when_inverted_prior_without_auc():
    assert rule_weight(20, 0.5, auc_prior_cases=0.0) == 0.0
    assert rule_weight(20, 0.2) < 0 < rule_weight(20, 0.9)
    assert rule_weight(5, float("nan")) == pytest.approx(BLEND_PRIOR / (BLEND_PRIOR + 5))
    # few cases: the shrinkage decides whether an inverted-looking detector is flipped
    assert rule_weight(2, 0.25) > 0  # current: 10 pseudo-cases at AUC 0.75 keep it positive
    assert rule_weight(2, 0.25, auc_prior_cases=1.0) < 0
    assert -1.0 <= rule_weight(1000, 0.0) <= 1.0


def test_combined_weight_counts_cases_against_the_rule():
    assert combined_weight(0.8, -1.0, 0, rule_cases=10) == pytest.approx(0.8)
    assert combined_weight(0.8, -1.0, 10, rule_cases=10) == pytest.approx(-0.1)
    assert combined_weight(0.8, -1.0, 90, rule_cases=10) == pytest.approx(-0.82)


def test_blend_quality_prefers_the_flipped_detector_when_it_is_inverted():
    rng = np.random.default_rng(0)
    truth = (rng.random(400) < 0.1).astype(int)
    model = np.where(truth == 1, rng.random(400) * 0.5 + 0.5, rng.random(400))
    det = np.where(truth == 1, rng.random(400) * 0.2, rng.random(400))  # cases ranked last
    quality = blend_quality(model, det, truth)
    assert best_blend_weight(quality) < 0
    assert best_blend_weight(blend_quality(model, 1.0 - det, truth)) > 0
    tied = np.zeros(len(BLEND_GRID))
    assert best_blend_weight(tied, near=0.31) == pytest.approx(0.3)


def _frame(rows):
    return pd.DataFrame(
        rows,
        columns=[
            "dataset",
            "seed",
            "setting",
            "weight",
            "aucroc",
            "aucpr",
            "lgb_aucroc",
            "lgb_aucpr",
        ],
    )


def test_leave_one_dataset_out_never_chooses_on_the_held_out_set():
    # "a" is best on sets 1 and 2, "b" only on set 3: set 3's fold must pick "a" (chosen on 1, 2)
    rows = []
    for ds, a, b in (("s1", 0.9, 0.8), ("s2", 0.9, 0.8), ("s3", 0.5, 0.99)):
        rows += [(ds, 0, "a", 0.0, a, 0.5, 0.8, 0.5), (ds, 0, "b", 0.0, b, 0.5, 0.8, 0.5)]
    loo = leave_one_dataset_out(_frame(rows))
    assert loo.loc["s3", "chosen"] == "a"
    assert loo.loc["s3", "aucroc"] == pytest.approx(0.5)
    assert loo.loc["s1", "chosen"] == "b"  # on s2 + s3, b's mean 0.895 beats a's 0.7


def test_objective_penalises_sets_more_than_five_points_below_lightgbm():
    rows = [
        ("s1", 0, "safe", 0.0, 0.80, 0.5, 0.80, 0.5),
        ("s2", 0, "safe", 0.0, 0.80, 0.5, 0.80, 0.5),
        ("s1", 0, "risky", 0.0, 0.98, 0.5, 0.80, 0.5),
        ("s2", 0, "risky", 0.0, 0.60, 0.5, 0.80, 0.5),
    ]
    score = objective(_frame(rows))
    assert score["risky"] == pytest.approx(0.79 - 0.075)  # mean 0.79, shortfall (0.15)/2
    assert score["safe"] > score["risky"]


def test_current_setting_reproduces_the_scorer_it_stands_for():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 4))
    y = (rng.random(500) < 0.08).astype(int)
    X[y == 1, :2] += 3.0
    data = Dataset("synthetic", X, y)
    pieces = collect(data, seed=0)
    # the same split, labels and detector as collect, through the real estimator
    from benchmarks.adbench import partial_labels, split

    X_train, X_test, y_train, _ = split(data, 0.3, 0)
    labels = partial_labels(y_train, 0.1, 0)
    detector = default_detector(random_state=0).fit(X_train)
    for setting, rule in ((CURRENT, "prior"), (EVIDENCE, "evidence")):
        scorer = LeadScorer(
            detector=detector, detector_prefit=True, random_state=0, cv=1, detector_rule=rule
        )
        scorer.fit(X_train, labels)
        assert weight_of(setting, pieces)[0] == pytest.approx(scorer.detector_weight_)
        np.testing.assert_allclose(
            setting_scores(setting, pieces), scorer.decision_function(X_test)
        )
    assert pieces.n_contrast == int(np.isnan(labels).sum())
    frame = evaluate({("synthetic", 0): pieces}, [CURRENT, Setting(2.0, 1.0, 1.0, "never")])
    assert set(frame["setting"]) == {CURRENT.name, "prior2|auccases1|rulecases1|feature_never"}
    assert frame["aucroc"].between(0.0, 1.0).all()
