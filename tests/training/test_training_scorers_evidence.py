"""The detector-weight rule that acts only on evidence beyond the AUC's sampling error (issue 14).

Every expected number below is computed by hand from the rule in ``evidence_weight``'s
docstring: null standard error ``sqrt((n_pos + n_neg + 1) / (12 n_pos n_neg))``, prior weight
``10 / (10 + n_pos)``, trust ``(A - 0.5) / 0.25``, with ``z`` = 2 and a booster bar of 0.9
(``AT``), not the defaults chosen by the benchmark, so the hand figures stay put.
"""

import math

import numpy as np
import pytest

from training.scorers import (
    BLEND_GRID,
    auc_standard_error,
    best_blend_weight,
    default_scorer,
    evidence_weight,
    hidden_case_share,
    rule_weight,
    signed_quality,
)

AT = {"z": 2.0, "model_good": 0.9}


def test_standard_error_at_chance_is_the_mann_whitney_null_and_shrinks_with_good_aucs():
    assert auc_standard_error(0.5, 2, 900) == pytest.approx(math.sqrt(903 / (12 * 2 * 900)))
    # Hanley-McNeil at 0.99 with 50 / 950: q1 = 0.99/1.01, q2 = 2 * 0.9801 / 1.99
    q1, q2, a2 = 0.99 / 1.01, 2 * 0.9801 / 1.99, 0.9801
    var = (0.99 * 0.01 + 49 * (q1 - a2) + 949 * (q2 - a2)) / (50 * 950)
    assert auc_standard_error(0.99, 50, 950) == pytest.approx(math.sqrt(var))
    assert math.isnan(auc_standard_error(0.5, 0, 10))


def test_inverted_detector_with_many_labels_is_flipped_by_the_interval_edge():
    # se = sqrt(1001 / 1_080_000) = 0.030444; edge 0.3 + 2 se = 0.360888 < 0.5: flipped with
    # trust (0.360888 - 0.5) / 0.25 = -0.556448 times the prior 10 / 110
    se = math.sqrt(1001 / (12 * 100 * 900))
    expected = 10 / 110 * (0.3 + 2 * se - 0.5) / 0.25
    assert evidence_weight(100, 900, 0.3, **AT) == pytest.approx(expected)
    assert expected == pytest.approx(-0.050586, abs=1e-6)


def test_inverted_looking_detector_with_two_labels_is_not_flipped():
    # se = sqrt(903 / 21600) = 0.2045: 0.3 is within 2 se of chance, so today's weighting
    # (0.3 shrunk with 10 pseudo-cases at 0.75: 8.1 / 12 = 0.675, trust 0.7, prior 10 / 12)
    assert evidence_weight(2, 900, 0.3, **AT) == pytest.approx(10 / 12 * 0.7)
    assert rule_weight(2, 0.3) == pytest.approx(10 / 12 * 0.7)  # the same as before: kept
    # the old rule flipped an inverted-looking detector on 47 cases (fault's OOF AUC 0.45 on
    # 47 cases against 1311 unlabelled rows is 1 standard error from chance); this one does not
    assert rule_weight(47, 0.42) < 0
    assert evidence_weight(47, 1311, 0.42, **AT) == 0.0
    # the benchmark's z = 1.64 does flip it: 0.42 + 1.64 * 0.04287 = 0.4903 < 0.5
    assert evidence_weight(47, 1311, 0.42) < 0


def test_chance_detector_is_dropped_when_the_booster_is_confidently_good():
    # AUC 0.5, booster 0.99 with 50 cases: 0.99 - 2 * sqrt(1001 / 570000) = 0.9062 >= 0.9 -> 0
    assert evidence_weight(50, 950, 0.5, model_auc=0.99, **AT) == 0.0
    # with 2 cases a perfect booster is not confident (1 - 2 * 0.2045 < 0.9): today's weighting
    assert evidence_weight(2, 900, 0.5, model_auc=1.0, **AT) == pytest.approx(rule_weight(2, 0.5))
    # without a booster figure (or a weak one) today's weighting: shrunk (25 + 7.5) / 60
    today = 10 / 60 * ((32.5 / 60) - 0.5) / 0.25
    assert evidence_weight(50, 950, 0.5, **AT) == pytest.approx(today)
    assert evidence_weight(50, 950, 0.5, model_auc=0.8, **AT) == pytest.approx(today)
    # a detector clearly above chance keeps its weight even beside a perfect booster
    assert evidence_weight(50, 950, 0.9, model_auc=1.0, **AT) == pytest.approx(rule_weight(50, 0.9))


def test_hidden_cases_in_the_contrast_deepen_the_correction_not_the_test():
    # contamination 0.5: A = 0.5 + (0.4 - 0.5) / 0.5 = 0.3, se doubled to 0.060888; edge 0.421776
    se = 2 * math.sqrt(1001 / (12 * 100 * 900))
    assert evidence_weight(100, 900, 0.4, contamination=0.5, **AT) == pytest.approx(
        10 / 110 * (0.3 + 2 * se - 0.5) / 0.25
    )
    assert (
        evidence_weight(100, 900, 0.4, contamination=0.5, **AT)
        < evidence_weight(100, 900, 0.4, **AT)
        < 0
    )
    # 0.45 on 100 cases is within 2 se of chance with or without the correction: not flipped
    assert evidence_weight(100, 900, 0.45, contamination=0.5, **AT) >= 0.0
    with pytest.raises(ValueError, match="contamination"):
        evidence_weight(100, 900, 0.4, contamination=1.0, **AT)


def test_no_auc_gives_the_prior_weight():
    assert evidence_weight(5, 100, float("nan"), **AT) == pytest.approx(10 / 15)
    assert evidence_weight(0, 100, float("nan"), **AT) == pytest.approx(1.0)


def test_hidden_case_share_counts_contrast_rows_above_the_top_half_of_the_cases():
    cases = [0.9, 0.8, 0.7, 0.6]  # top half: 2 cases at or above 0.8
    contrast = [0.95, 0.85, 0.1, 0.2, 0.3, 0.4, 0.5, 0.55, 0.05, 0.15]  # 2 of 10 at or above
    assert hidden_case_share(cases, contrast) == pytest.approx(0.2 / 0.5)
    assert hidden_case_share(cases, [0.99] * 10) == pytest.approx(0.5)  # capped
    assert hidden_case_share(cases, [0.1] * 10) == 0.0
    assert hidden_case_share([], contrast) == 0.0


def test_signed_quality_keeps_the_out_of_fold_choice_on_the_rule_side():
    quality = np.where(BLEND_GRID < 0, 2.0, 1.0)  # the flipped side looks better on the folds
    assert best_blend_weight(signed_quality(quality, 0.2), near=0.2) >= 0
    assert best_blend_weight(signed_quality(quality, -0.1), near=-0.1) < 0


def test_scorer_uses_the_evidence_rule_and_keeps_the_prior_rule_on_request():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 4))
    fraud = rng.random(800) < 0.08
    X[fraud, :2] += 4.0
    y = np.where(fraud & (rng.random(800) < 0.3), 1.0, np.nan)
    scorer = default_scorer(0).fit(X, y)
    assert scorer.detector_rule == "evidence"
    assert scorer.n_contrast_ == int(np.isnan(y).sum())
    assert 0.0 <= scorer.contamination_ <= 0.5
    assert scorer.detector_weight_ > 0  # a right detector keeps a positive weight
    prior = default_scorer(0).set_params(detector_rule="prior").fit(X, y)
    assert prior.contamination_ == 0.0
    with pytest.raises(ValueError, match="detector_rule"):
        default_scorer(0).set_params(detector_rule="bogus").fit(X, y)
