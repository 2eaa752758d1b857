"""Plain-language reasons for one entity, from the declared reason templates and its peers.

The explanation layer (SHAP reasons in serving) picks which features matter; this module turns a
feature name and value into the sentence a prosecutor reads, with the peer figure the template
asks for. Peers are the entity's district (``peer_group`` "district"); for other peer groups
the feature is already a ratio to its peer median, so the overall median is shown.
"""

from __future__ import annotations

import math

import pandas as pd

from features import registry
from features.wording import DEFAULT_LANGUAGE


def peer_medians(frame: pd.DataFrame, scenario: str) -> pd.DataFrame:
    """Median of every feature per district (rows) from a built feature table."""
    names = registry.get(scenario).feature_names
    return frame.groupby("district", observed=True)[names].median()


def reasons(
    frame: pd.DataFrame,
    scenario: str,
    entity_id: str,
    features: list[str] | None = None,
    lang: str = DEFAULT_LANGUAGE,
) -> dict[str, str]:
    """The reason text of each (or each given) feature for one entity, in ``lang`` (the row
    lets a zero-denominator ratio state its figures)."""
    spec = registry.get(scenario)
    rows = frame[frame["entity_id"] == entity_id]
    if rows.empty:
        raise KeyError(f"{scenario}: no entity {entity_id!r} in the feature table")
    row = rows.iloc[0]
    medians = peer_medians(frame, scenario)
    overall = frame[spec.feature_names].median()
    out = {}
    for name in features or spec.feature_names:
        feature = spec.feature(name)
        if feature.peer_group == "district" and row["district"] in medians.index:
            peer = medians.loc[row["district"], name]
        else:
            peer = overall[name]
        value = row[name]
        out[name] = feature.reason(
            None if pd.isna(value) else float(value),
            None if pd.isna(peer) or math.isnan(float(peer)) else float(peer),
            lang,
            row.to_dict(),
        )
    return out
