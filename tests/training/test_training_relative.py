"""The fitted within-group ranks (``training.relative``): training rows as ``relative_view``,
new rows against the training values, unseen groups against the pooled values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from features.relative import relative_view
from features.spec import FeatureSpec
from training.detectors import default_detector
from training.relative import RelativeDetector, RelativeRanks, declared_relative_to, mid_ranks

SPECS = (
    FeatureSpec("bid", "bid", "unit", "{value}", "low", relative_to="district"),
    FeatureSpec("count", "count", "unit", "{value}", "high", relative_to="district"),
    FeatureSpec("plain", "plain", "unit", "{value}", "high"),
)
FEATURES = [s.name for s in SPECS]


def _frame(seed: int = 0, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    district = rng.choice(["a", "b", "c"], size=n)
    scale = pd.Series(district).map({"a": 1.0, "b": 1000.0, "c": 1e6}).to_numpy()
    count = rng.integers(0, 5, size=n).astype(float)  # ties
    count[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "district": pd.array(district, dtype="string"),
            "bid": rng.lognormal(0, 1, size=n) * scale,
            "count": count,
            "plain": rng.normal(size=n),
        }
    )


def _ranks() -> RelativeRanks:
    return RelativeRanks(FEATURES, declared_relative_to(SPECS))


def test_on_training_rows_it_is_exactly_the_relative_view():
    frame = _frame()
    out = _ranks().fit(frame).transform(frame)
    pd.testing.assert_frame_equal(out, relative_view(frame, SPECS))


def test_new_rows_are_ranked_against_the_training_values_of_their_group():
    train = pd.DataFrame(
        {"district": ["a"] * 4 + ["b"] * 2, "bid": [1.0, 2.0, 2.0, 3.0, 100.0, 300.0]}
    )
    ranks = RelativeRanks(["bid"], {"bid": "district"}).fit(train)
    new = pd.DataFrame({"district": ["a", "a", "a", "b", "a"], "bid": [2.0, 2.5, 9.0, 200.0, 0.5]})
    # a: 2 ties two of four -> (1 + 1.5) / 4; 2.5 has 3 below -> 3.5 / 4; 9 above all -> 4.5/4
    # b: 200 between 100 and 300 -> 1.5 / 2; a: 0.5 below all -> 0.5 / 4
    np.testing.assert_allclose(
        ranks.transform(new)["bid"], [0.625, 0.875, 1.125, 0.75, 0.125], rtol=0, atol=1e-15
    )
    # one row scores the same alone as in any batch (the reference is the training population)
    alone = ranks.transform(new.iloc[[3]])["bid"].to_numpy()
    assert alone[0] == ranks.transform(new)["bid"].to_numpy()[3]


def test_an_unseen_group_is_ranked_against_the_pooled_training_values():
    train = pd.DataFrame({"district": ["a", "a", "b", "b"], "bid": [1.0, 3.0, 10.0, 30.0]})
    ranks = RelativeRanks(["bid"], {"bid": "district"}).fit(train)
    out = ranks.transform(pd.DataFrame({"district": ["zz", "zz"], "bid": [5.0, 30.0]}))
    # pooled 1, 3, 10, 30: 5 has 2 below -> 2.5 / 4; 30 is the top one -> 4 / 4
    np.testing.assert_allclose(out["bid"], [0.625, 1.0])
    assert not out["bid"].isna().any()


def test_missing_values_stay_missing_and_a_missing_group_is_refused_naming_it():
    frame = _frame()
    ranks = _ranks().fit(frame)
    new = frame.head(3).copy()
    new.loc[new.index[0], "bid"] = np.nan
    assert np.isnan(ranks.transform(new)["bid"].iloc[0])
    new.loc[new.index[1], "district"] = pd.NA
    with pytest.raises(ValueError, match=r"'district' is missing at row 1"):
        ranks.transform(new)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['district'\]"):
        ranks.transform(frame.drop(columns="district"))


def test_undeclared_features_keep_their_values_and_the_group_column_is_not_an_output():
    frame = _frame()
    out = _ranks().fit(frame).transform(frame)
    assert list(out.columns) == FEATURES
    pd.testing.assert_series_equal(out["plain"], frame["plain"])


def test_mid_ranks_by_hand():
    np.testing.assert_allclose(
        mid_ranks(np.array([1.0, 2.0]), np.array([1.0, np.nan])), [0.5, np.nan]
    )


def test_the_relative_detector_scores_as_the_detector_on_the_relative_view():
    frame = _frame()
    directions = {s.name: s.direction for s in SPECS}
    plain = default_detector(0, directions=directions).fit(relative_view(frame, SPECS))
    ranked = RelativeDetector(
        default_detector(directions=directions),
        FEATURES,
        declared_relative_to(SPECS),
        random_state=0,
    ).fit(frame)
    np.testing.assert_array_equal(ranked.decision_scores_, plain.decision_scores_)
    np.testing.assert_array_equal(
        ranked.decision_function(frame), plain.decision_function(relative_view(frame, SPECS))
    )


def test_the_relative_detector_reads_a_bare_matrix_by_its_columns_and_clones():
    frame = _frame()
    columns = ["district_code", *FEATURES]
    coded = frame.assign(district_code=frame["district"].map({"a": 0.0, "b": 1.0, "c": 2.0}))
    coded = coded[columns].astype("float64")
    det = RelativeDetector(default_detector(), FEATURES, {"bid": "district_code"}, columns=columns)
    fitted = clone(det).set_params(random_state=3).fit(coded.to_numpy())
    np.testing.assert_array_equal(
        fitted.decision_function(coded.to_numpy()), fitted.decision_function(coded)
    )
    with pytest.raises(ValueError, match="expects 4 columns"):
        fitted.decision_function(coded.to_numpy()[:, :2])


def test_without_a_declared_group_the_detector_scores_byte_identically():
    """A model declaring no ``relative_to`` (every simulated built-in) gets its plain detector's
    scores, bit for bit, through the relative step: nothing is ranked."""
    from features import registry

    specs = registry.get("fuel_tax").features
    assert declared_relative_to(specs) == {}
    names = [s.name for s in specs]
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.lognormal(size=(200, len(names))), columns=names)
    directions = {s.name: s.direction for s in specs}
    plain = default_detector(0, directions=directions).fit(frame)
    through = RelativeDetector(default_detector(directions=directions), names, {}, None, 0)
    through.fit(frame)
    assert plain.decision_function(frame).tobytes() == through.decision_function(frame).tobytes()
