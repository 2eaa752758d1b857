"""Scoring a batch: from request rows to scores, percentiles, ranks and (some) reasons.

Pure functions over frames and arrays; the routes only parse, call these and answer. Every row is
scored; reasons (SHAP) cost far more than a score, so they are computed only for the rows asked:
the highest ``explain_top`` rows, or all rows of a small batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
    as high. Without a reference, the batch itself is the population.

    This, :func:`ranks` and :func:`rows_to_explain` state each rule on its own; the service
    reads all three from one sort (:func:`ranked`), and the tests hold it equal to them."""
    base = np.sort(scores) if reference is None or len(reference) == 0 else reference
    return 100.0 * np.searchsorted(base, scores, side="right") / len(base)


def ranks(scores: np.ndarray) -> np.ndarray:
    """Rank within the batch, 1 = most suspicious; ties keep input order (stable)."""
    order = np.argsort(-scores, kind="stable")
    out = np.empty(len(scores), dtype="int64")
    out[order] = np.arange(1, len(scores) + 1)
    return out


def check_explain_all(rows: int) -> None:
    """``explain_all`` of more than ``MAX_EXPLAIN_ALL`` rows is a 422 naming the field."""
    if rows > MAX_EXPLAIN_ALL:
        raise ApiError(
            422,
            f"explain_all is limited to {MAX_EXPLAIN_ALL} rows; "
            f"this batch has {rows}; use explain_top instead",
            [{"loc": ["body", "explain_all"], "msg": "batch too large", "type": "value_error"}],
        )


def rows_to_explain(scores: np.ndarray, explain_top: int, explain_all: bool) -> np.ndarray:
    """Positions of the rows whose reasons were asked for, highest score first."""
    if explain_all:
        check_explain_all(len(scores))
        return np.argsort(-scores, kind="stable")
    if explain_top <= 0:
        return np.empty(0, dtype="int64")
    k = min(explain_top, len(scores))
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return top[np.argsort(-scores[top], kind="stable")]


@dataclass(frozen=True, eq=False)
class Ranked:
    """A batch's scores put in order once: ``order`` (positions, highest score first, ties in
    input order), each row's ``rank`` and ``percentile`` (what :func:`ranks` and
    :func:`percentiles` give), read from that one sort."""

    order: np.ndarray
    rank: np.ndarray
    percentile: np.ndarray

    def to_explain(self, explain_top: int, explain_all: bool) -> np.ndarray:
        """:func:`rows_to_explain` from the order already known (a tie at the cut keeps the
        earlier row, where a partial sort would pick either)."""
        if explain_all:
            check_explain_all(len(self.order))
            return self.order
        return self.order[: max(0, explain_top)]


def ranked(scores: np.ndarray, reference: np.ndarray | None) -> Ranked:
    """:class:`Ranked` of ``scores`` against the sorted ``reference`` (None or empty: the batch
    itself), from one stable sort: the percentiles are looked up in ascending score order,
    where consecutive searches touch neighbouring entries of the reference."""
    n = len(scores)
    order = np.argsort(-scores, kind="stable")
    rank = np.empty(n, dtype="int64")
    rank[order] = np.arange(1, n + 1)
    ascending = order[::-1]
    values = scores[ascending]
    base = values if reference is None or len(reference) == 0 else reference
    percentile = np.empty(n, dtype="float64")
    percentile[ascending] = 100.0 * np.searchsorted(base, values, side="right") / len(base)
    return Ranked(order, rank, percentile)
