"""The pool's latest feature tables, as the service reads them to score entities by id.

Building a feature table joins several agency tables, so it is done once per scenario and kept
until the pool changes (its manifest's modification time moves). A loader is injected so the
service, the tests and the benchmark can each point at their own tables.

Requests read the table through an :class:`EntityMatrix`: the model's columns as one contiguous
float64 matrix and a dict from entity id to row, built once per table and column set (at model
load), so scoring one entity is a dict lookup and a row slice, not pandas indexing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .error_handling import ApiError

Loader = Callable[[str], pd.DataFrame]


def pool_loader(data_root: Path) -> Loader:
    """Loader building a scenario's features as of the pool's latest date (features.build)."""

    def load(scenario: str) -> pd.DataFrame:
        from features.build import build_features  # heavy: imported on first use only
        from features.points import latest_as_of

        return build_features(scenario, latest_as_of(data_root, scenario), data_root).frame

    return load


def as_entity_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Index a feature table by ``entity_id`` (string), whichever way the builder returned it."""
    if "entity_id" in frame.columns:
        frame = frame.set_index("entity_id")
    frame.index = frame.index.astype(str)
    frame.index.name = "entity_id"
    return frame[~frame.index.duplicated(keep="last")]  # one row per entity: the latest


def unknown_entities(unknown: Sequence[str]) -> ApiError:
    """The 404 for entity ids the latest feature table does not hold (the first five named)."""
    shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
    return ApiError(404, f"{len(unknown)} entity id(s) not in the latest feature table: {shown}")


@dataclass(frozen=True, eq=False)
class EntityMatrix:
    """A feature table as the scoring path reads it: ``values`` holds ``columns`` of every row
    as contiguous float64 (exactly ``table.loc[:, columns].astype("float64")``), ``ids`` the
    entity ids in row order and ``row_of`` each id's row."""

    table: pd.DataFrame
    columns: tuple[str, ...]
    values: np.ndarray
    ids: list[str]
    row_of: dict[str, int]

    @classmethod
    def of(cls, table: pd.DataFrame, columns: Sequence[str]) -> EntityMatrix:
        """The matrix of ``columns`` of an entity table (``as_entity_table``: unique string
        ids); a ValueError naming the columns the table lacks."""
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise ValueError(f"the served feature table lacks the model's column(s) {missing}")
        values = table.loc[:, list(columns)].astype("float64").to_numpy()
        ids = [str(e) for e in table.index]
        return cls(
            table,
            tuple(columns),
            np.ascontiguousarray(values),
            ids,
            dict(zip(ids, range(len(ids)), strict=True)),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def lookup(self, entity_ids: Sequence[str]) -> np.ndarray:
        """Row of each id, -1 for an id the table does not hold."""
        get = self.row_of.get
        return np.fromiter((get(e, -1) for e in entity_ids), dtype=np.intp, count=len(entity_ids))

    def positions(self, entity_ids: Sequence[str]) -> np.ndarray:
        """Rows of ``entity_ids`` in request order; unknown ids are a 404 naming them."""
        rows = self.lookup(entity_ids)
        if (rows < 0).any():
            raise unknown_entities([e for e, p in zip(entity_ids, rows, strict=True) if p < 0])
        return rows


class FeatureSource:
    """Per-scenario cache of the latest feature table, keyed by the pool's version stamp."""

    def __init__(self, loader: Loader, stamp: Callable[[], float] | None = None) -> None:
        self.loader = loader
        self.stamp = stamp or (lambda: 0.0)
        self._tables: dict[str, tuple[float, pd.DataFrame]] = {}
        self._matrices: dict[tuple[str, tuple[str, ...]], EntityMatrix] = {}
        self._lock = threading.Lock()

    def table(self, scenario: str) -> pd.DataFrame:
        """The latest feature table of ``scenario`` indexed by entity id; 404 when none exists."""
        stamp = self.stamp()
        cached = self._tables.get(scenario)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        with self._lock:
            cached = self._tables.get(scenario)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            try:
                table = as_entity_table(self.loader(scenario))
            except (FileNotFoundError, KeyError, ModuleNotFoundError) as exc:
                raise ApiError(404, f"no feature table for scenario {scenario!r}: {exc}") from exc
            self._tables[scenario] = (stamp, table)
            return table

    def matrix(self, scenario: str, columns: Sequence[str]) -> EntityMatrix:
        """The latest table of ``scenario`` as an :class:`EntityMatrix` of ``columns``, built
        once per table (a new pool version builds a new one); 404 when no table exists."""
        table = self.table(scenario)
        key = (scenario, tuple(columns))
        found = self._matrices.get(key)
        if found is not None and found.table is table:
            return found
        with self._lock:
            found = self._matrices.get(key)
            if found is None or found.table is not table:
                found = EntityMatrix.of(table, columns)
                self._matrices[key] = found
            return found

    def maybe_matrix(self, scenario: str, columns: Sequence[str]) -> EntityMatrix | None:
        """The matrix or None when the scenario has no table (as :meth:`maybe_table`)."""
        try:
            return self.matrix(scenario, columns)
        except ApiError:
            return None

    def maybe_table(self, scenario: str) -> pd.DataFrame | None:
        """The table or None (used for percentile references, where absence is not an error)."""
        try:
            return self.table(scenario)
        except ApiError:
            return None


def manifest_stamp(data_root: Path) -> Callable[[], float]:
    """Version stamp of the pool: its manifest's modification time (0 when absent)."""
    manifest = data_root / "pool" / "manifest.json"

    def stamp() -> float:
        try:
            return manifest.stat().st_mtime
        except OSError:
            return 0.0

    return stamp


def table_hash(frame: pd.DataFrame, scenario: str) -> str:
    """The ``feature_set_hash`` a feature table was built with (``features.build`` writes it on
    every row); an error naming the scenario when the table carries none or several."""
    if "feature_set_hash" not in frame.columns:
        raise ValueError(
            f"the served {scenario} feature table has no feature_set_hash column, "
            "so no model version can be checked against it"
        )
    found = sorted(frame["feature_set_hash"].dropna().astype(str).unique())
    if len(found) != 1:
        raise ValueError(
            f"the served {scenario} feature table carries "
            f"{len(found)} feature_set_hash values ({', '.join(found[:3])}); "
            "expected exactly one"
        )
    return found[0]
