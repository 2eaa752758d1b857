"""LeadScorer's ``takes_arrays``: a float64 matrix in the fitted column order gives exactly the
scores and probabilities of the frame it came from, with no warning, and a matrix of the wrong
width is refused naming both widths. The service relies on this to score its cached matrix
(``serving.champions.score_matrix``) instead of building a frame per request."""

import warnings

import numpy as np
import pandas as pd
import pytest

from training.scorers import LeadScorer, default_scorer


def fitted(labels: bool) -> tuple[LeadScorer, pd.DataFrame]:
    """A scorer fitted on a named frame (with outcomes or none), and fresh rows to score,
    some of them missing or infinite."""
    rng = np.random.default_rng(4)
    X = pd.DataFrame(rng.normal(size=(600, 4)), columns=["a", "b", "c", "d"])
    fraud = (X["a"] - X["b"] + rng.normal(0, 0.5, len(X))) > 1.8
    y = np.where(rng.random(len(X)) < 0.5, fraud.astype(float), np.nan)
    scorer = default_scorer(0).fit(X, y if labels else np.full(len(X), np.nan))
    rows = pd.DataFrame(rng.normal(size=(300, 4)), columns=list(X.columns))
    rows.iloc[::17, 2] = np.nan
    rows.iloc[5, 1] = np.inf
    return scorer, rows


@pytest.mark.parametrize("labels", [True, False], ids=["supervised", "detector-only"])
def test_a_matrix_scores_exactly_as_its_frame(labels: bool) -> None:
    scorer, rows = fitted(labels)
    assert scorer.takes_arrays and scorer.mode_ == ("supervised" if labels else "detector")
    score, probability = scorer.score_and_probability(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names"
        got_score, got_probability = scorer.score_and_probability(rows.to_numpy("float64"))
        np.testing.assert_array_equal(scorer.decision_function(rows.to_numpy()), score)
    np.testing.assert_array_equal(got_score, score)
    np.testing.assert_array_equal(got_probability, probability)
    assert np.isnan(probability).all() != labels


def test_a_matrix_of_the_wrong_width_is_refused() -> None:
    scorer, rows = fitted(True)
    with pytest.raises(ValueError, match="3 features, but LeadScorer is expecting 4"):
        scorer.decision_function(rows.iloc[:, :3].to_numpy())
    with pytest.raises(ValueError, match="feature names"):  # a frame still has names checked
        scorer.decision_function(rows.rename(columns={"a": "z"}))
