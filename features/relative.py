"""The detector's view of a feature table: declared features compared within their group.

A feature declaring ``relative_to`` (``FeatureSpec.relative_to``, e.g. "district") is replaced
by its percentile rank within that column's groups. Why: a detector scores how unusual a row is,
and "unusual" should mean unusual among its peers. Bid levels and tender sizes differ by orders of
magnitude between the countries of ``bid_rigging``, so on absolute values a heavy tail of one
group dominates the distances and tails of every other; within-group ranks put each group on the
same footing (0 to 1, ties share their mean rank, missing stays missing). Pure functions on
in-memory frames: the feature table itself (and the reasons written from it) keeps the values.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from features.spec import FeatureSpec


def within_group_ranks(values: pd.Series, groups: pd.Series) -> pd.Series:
    """Percentile rank of each value within its group (in (0, 1]; NaN stays NaN, and so does
    a row without a group)."""
    return values.groupby(groups.to_numpy(), sort=False).rank(pct=True, method="average")


def relative_view(frame: pd.DataFrame, specs: Sequence[FeatureSpec]) -> pd.DataFrame:
    """The declared features of ``frame``, those with ``relative_to`` ranked within its groups.

    Returns only the features' columns, in declaration order, same index as ``frame``; a
    feature or group column absent from ``frame`` is refused, naming both.
    """
    missing = [s.name for s in specs if s.name not in frame.columns]
    if missing:
        raise ValueError(f"relative view: feature column(s) {missing} are not in the table")
    out = frame[[s.name for s in specs]].astype("float64")
    for spec in specs:
        if spec.relative_to is None:
            continue
        if spec.relative_to not in frame.columns:
            raise ValueError(
                f"feature {spec.name!r} is compared within {spec.relative_to!r}, "
                "but the table has no such column"
            )
        out[spec.name] = within_group_ranks(out[spec.name], frame[spec.relative_to])
    return out
