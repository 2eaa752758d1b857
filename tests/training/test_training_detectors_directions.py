"""Declared directions: one-sided features are suspicious on their declared side only."""

import numpy as np
import pandas as pd
import pytest

from evaluation.metrics import roc_auc
from training.detectors import default_detector, direction_signs


def regular_bids(n: int = 800, n_out: int = 30, seed: int = 0):
    """Cartel-like rows *low* on ``dispersion`` plus as many honest rows *high* on it.

    Returns the table, the cartel flags and the honest high outliers' flags.
    """
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 4)), columns=["dispersion", "gap", "size", "age"])
    cartel = np.zeros(n, bool)
    cartel[:n_out] = True
    high = np.zeros(n, bool)
    high[n_out : 2 * n_out] = True
    frame.loc[cartel, "dispersion"] -= 5.0
    frame.loc[cartel, "gap"] -= 1.0
    frame.loc[high, "dispersion"] += 5.0
    return frame, cartel, high


def top(scores: np.ndarray, k: int) -> np.ndarray:
    flagged = np.zeros(len(scores), bool)
    flagged[np.argsort(-scores)[:k]] = True
    return flagged


def test_low_declared_feature_flags_only_the_low_side():
    frame, cartel, high = regular_bids()
    directions = {"dispersion": "low", "gap": "low"}
    scores = default_detector(0, directions=directions).fit(frame).decision_function(frame)
    assert roc_auc(cartel, scores) > 0.97
    flagged = top(scores, 60)
    assert flagged[cartel].mean() >= 0.9
    # far out on the harmless side is no lead: at most the chance rate of an ordinary row
    # (30 of the other 770 rows fill the top 60, ~4%), against > 50% undeclared (next test)
    assert flagged[high].mean() <= 0.1
    # the honest high outliers score like ordinary rows (below the 80th percentile)
    assert np.median(scores[high]) < np.quantile(scores[~cartel & ~high], 0.8)


def test_without_declaration_both_sides_are_rare():
    """The same data undeclared: the detector flags the harmless side too (what changed)."""
    frame, cartel, high = regular_bids()
    scores = default_detector(0).fit(frame).decision_function(frame)
    assert top(scores, 60)[high].mean() > 0.5


def test_high_declared_feature_and_sequence_for_arrays():
    frame, cartel, high = regular_bids()
    X = -frame.to_numpy()  # now the cartel is *high* on column 0, the honest outliers low
    scores = (
        default_detector(0, directions=["high", "high", "both", "both"]).fit(X).decision_function(X)
    )
    assert roc_auc(cartel, scores) > 0.97
    assert top(scores, 60)[high].mean() <= 0.1


def test_absent_feature_is_two_sided_and_same_scores_as_both():
    frame, _, _ = regular_bids()
    a = default_detector(0, directions={"dispersion": "low"}).fit(frame).decision_function(frame)
    full = {"dispersion": "low", "gap": "both", "size": "both", "age": "both"}
    b = default_detector(0, directions=full).fit(frame).decision_function(frame)
    np.testing.assert_allclose(a, b)


def test_directions_kept_as_given_and_cloned():
    from sklearn.base import clone

    directions = {"dispersion": "low"}
    detector = default_detector(0, directions=directions)
    assert detector.get_params()["directions"] is directions
    assert clone(detector).directions == directions


@pytest.mark.parametrize(
    ("directions", "message"),
    [
        ({"dispersion": "down"}, "dispersion"),
        ({"nope": "low"}, "nope"),
        (["low", "high"], "2 entries"),
        ("low", "not a string"),
    ],
)
def test_bad_directions_name_the_field(directions, message):
    frame, _, _ = regular_bids(n=100, n_out=5)
    with pytest.raises(ValueError, match=message):
        default_detector(0, directions=directions).fit(frame)


def test_mapping_needs_column_names():
    frame, _, _ = regular_bids(n=100, n_out=5)
    with pytest.raises(ValueError, match="no column names"):
        default_detector(0, directions={"dispersion": "low"}).fit(frame.to_numpy())


def test_direction_signs_undeclared_is_none():
    assert direction_signs(None, 3, None) is None
    np.testing.assert_array_equal(direction_signs(["high", "low", "both"], 3, None), [1, -1, 0])
