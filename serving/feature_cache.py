"""The pool's latest feature tables, as the service reads them to score entities by id.

Building a feature table joins several agency tables, so it is done once per scenario and kept
until the pool changes (its manifest's modification time moves). A loader is injected so the
service, the tests and the benchmark can each point at their own tables.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

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


class FeatureSource:
    """Per-scenario cache of the latest feature table, keyed by the pool's version stamp."""

    def __init__(self, loader: Loader, stamp: Callable[[], float] | None = None) -> None:
        self.loader = loader
        self.stamp = stamp or (lambda: 0.0)
        self._tables: dict[str, tuple[float, pd.DataFrame]] = {}
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
