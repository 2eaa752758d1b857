"""The detector's view: features declaring ``relative_to`` are ranked within their group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.relative import relative_view, within_group_ranks
from features.spec import FeatureSpec


def _spec(name: str, relative_to: str | None = None) -> FeatureSpec:
    return FeatureSpec(name, name, "unit", "{value}", relative_to=relative_to)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "district": ["a", "a", "a", "b", "b"],
            "bid": [10.0, 30.0, 20.0, 5000.0, 1000.0],
            "count": [1.0, 2.0, np.nan, 3.0, 4.0],
        }
    )


def test_ranks_are_within_each_group_by_hand():
    f = _frame()
    ranks = within_group_ranks(f["bid"], f["district"])
    # a: 10 < 20 < 30 -> 1/3, 3/3, 2/3; b: 1000 < 5000 -> 2/2, 1/2
    np.testing.assert_allclose(ranks, [1 / 3, 1.0, 2 / 3, 1.0, 0.5])


def test_a_group_on_another_scale_gets_the_same_ranks():
    f = _frame()
    scaled = f.assign(bid=np.where(f["district"] == "b", f["bid"] / 1000.0, f["bid"]))
    view = relative_view(f, [_spec("bid", "district")])
    pd.testing.assert_frame_equal(view, relative_view(scaled, [_spec("bid", "district")]))


def test_undeclared_features_keep_their_values_and_missing_stays_missing():
    f = _frame()
    view = relative_view(f, [_spec("bid"), _spec("count", "district")])
    assert list(view.columns) == ["bid", "count"]
    pd.testing.assert_series_equal(view["bid"], f["bid"])
    assert np.isnan(view.loc[2, "count"])
    np.testing.assert_allclose(view["count"].drop(index=2), [0.5, 1.0, 0.5, 1.0])


def test_ties_share_their_mean_rank():
    f = pd.DataFrame({"district": ["a"] * 4, "x": [1.0, 2.0, 2.0, 3.0]})
    view = relative_view(f, [_spec("x", "district")])
    np.testing.assert_allclose(view["x"], [0.25, 0.625, 0.625, 1.0])


def test_a_missing_group_column_is_refused_naming_feature_and_column():
    with pytest.raises(ValueError, match=r"'bid'.*'region'"):
        relative_view(_frame(), [_spec("bid", "region")])
    with pytest.raises(ValueError, match=r"\['nope'\]"):
        relative_view(_frame(), [_spec("nope")])


def test_relative_to_must_name_a_column():
    with pytest.raises(ValueError, match="relative_to must name a column"):
        _spec("bid", "not a column")
