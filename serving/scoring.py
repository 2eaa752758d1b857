"""Scoring a batch: from request rows to scores, percentiles, ranks and (some) reasons.

Pure functions over frames and arrays; the routes only parse, call these and answer. Every row is
scored; reasons (SHAP) cost far more than a score, so they are computed only for the rows asked:
the highest ``explain_top`` rows, or all rows of a small batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .error_handling import ApiError
from .feature_cache import unknown_entities
from .schemas import MAX_EXPLAIN_ALL, FeatureRow


def frame_from_rows(rows: Sequence[FeatureRow], columns: Sequence[str]) -> pd.DataFrame:
    """Feature rows as a float frame in the model's column order, indexed by entity id.

    Unknown or missing feature names are a 422 naming the row and the names, so the caller can
    fix the exact field.
    """
    ids, values = values_from_rows(rows, columns)
    return pd.DataFrame(values, columns=list(columns), index=pd.Index(ids, name="entity_id"))


def values_from_rows(
    rows: Sequence[FeatureRow], columns: Sequence[str]
) -> tuple[list[str], np.ndarray]:
    """Feature rows as their entity ids and a float64 matrix in the model's column order
    (what :func:`frame_from_rows` holds); the same 422 for unknown or missing names."""
    expected = set(columns)
    problems = []
    for i, row in enumerate(rows):
        unknown = sorted(set(row.features) - expected)
        missing = sorted(expected - set(row.features))
        if unknown:
            problems.append(
                {
                    "loc": ["body", "rows", str(i), "features", unknown[0]],
                    "msg": f"unknown feature(s) {unknown}",
                    "type": "extra_forbidden",
                }
            )
        if missing:
            problems.append(
                {
                    "loc": ["body", "rows", str(i), "features"],
                    "msg": f"missing feature(s) {missing}; send null for a missing value",
                    "type": "missing",
                }
            )
        if len(problems) >= 20:
            break
    if problems:
        raise ApiError(422, "feature rows do not match the model's features", problems)
    values = np.array([[row.features[c] for c in columns] for row in rows], dtype="float64")
    return [row.entity_id for row in rows], values.reshape(len(rows), len(columns))


def select_entities(table: pd.DataFrame, entity_ids: Sequence[str]) -> pd.DataFrame:
    """Rows of the feature table for ``entity_ids`` (in request order); unknown ids are a 404."""
    positions = table.index.get_indexer(list(entity_ids))
    if (positions < 0).any():
        raise unknown_entities([e for e, p in zip(entity_ids, positions, strict=True) if p < 0])
    return table.iloc[positions]


def percentiles(scores: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
    """Percentile (0-100] of each score: the share of the reference population scoring at most
    as high. Without a reference, the batch itself is the population."""
    base = np.sort(scores) if reference is None or len(reference) == 0 else reference
    return 100.0 * np.searchsorted(base, scores, side="right") / len(base)


def ranks(scores: np.ndarray) -> np.ndarray:
    """Rank within the batch, 1 = most suspicious; ties keep input order (stable)."""
    order = np.argsort(-scores, kind="stable")
    out = np.empty(len(scores), dtype="int64")
    out[order] = np.arange(1, len(scores) + 1)
    return out


def rows_to_explain(scores: np.ndarray, explain_top: int, explain_all: bool) -> np.ndarray:
    """Positions of the rows whose reasons were asked for, highest score first."""
    if explain_all:
        if len(scores) > MAX_EXPLAIN_ALL:
            raise ApiError(
                422,
                f"explain_all is limited to {MAX_EXPLAIN_ALL} rows; "
                f"this batch has {len(scores)}; use explain_top instead",
                [{"loc": ["body", "explain_all"], "msg": "batch too large", "type": "value_error"}],
            )
        return np.argsort(-scores, kind="stable")
    if explain_top <= 0:
        return np.empty(0, dtype="int64")
    k = min(explain_top, len(scores))
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return top[np.argsort(-scores[top], kind="stable")]
