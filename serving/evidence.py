"""The source records behind a lead: every row of the scenario's agency tables naming the entity.

Agencies type the same credit code or ID number differently (blanks, lower case, O for 0), so rows
are matched on the normalised form (``pool.keys.normalise_code``) of every text column. Tables are
loaded and normalised once per pool version; a lookup is then a vector comparison per column.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pandas as pd

from pool.keys import normalise_code

MAX_ROWS_PER_TABLE = 50
TableLoader = Callable[[str], dict[str, pd.DataFrame]]


def _plain(value: Any) -> Any:
    """A JSON-friendly scalar (dates as ISO text, NaN/NA as null)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def normalised_text_columns(table: pd.DataFrame) -> dict[str, pd.Series]:
    """Normalised copies of the table's text columns (the ones that can hold a key)."""
    out = {}
    for column in table.columns:
        series = table[column]
        if pd.api.types.is_string_dtype(series) or series.dtype == object:
            out[column] = series.map(normalise_code, na_action="ignore")
    return out


class EvidenceIndex:
    """Source records of a scenario's entities, from tables loaded once per pool version."""

    def __init__(self, loader: TableLoader, stamp: Callable[[], float]) -> None:
        self.loader = loader
        self.stamp = stamp
        self._cache: dict[str, tuple[float, dict[str, tuple[pd.DataFrame, dict]]]] = {}
        self._lock = threading.Lock()

    def _tables(self, scenario: str) -> dict[str, tuple[pd.DataFrame, dict]]:
        stamp = self.stamp()
        with self._lock:
            cached = self._cache.get(scenario)
            if cached is None or cached[0] != stamp:
                tables = self.loader(scenario)
                prepared = {name: (t, normalised_text_columns(t)) for name, t in tables.items()}
                self._cache[scenario] = (stamp, prepared)
            return self._cache[scenario][1]

    def records(self, scenario: str, entity_id: str) -> dict[str, Any]:
        """Per table: how many rows name the entity, and the first of them as plain dicts."""
        target = normalise_code(entity_id)
        out: dict[str, Any] = {}
        for name, (table, keys) in self._tables(scenario).items():
            hits = pd.Series(False, index=table.index)
            for series in keys.values():
                hits |= series.eq(target).fillna(False).astype(bool)
            found = table[hits.to_numpy()]
            if len(found):
                rows = [{k: _plain(v) for k, v in row.items()}
                        for row in found.head(MAX_ROWS_PER_TABLE).to_dict("records")]
                out[name] = {"count": len(found), "rows": rows}
        return out


def pool_tables(data_root: Any) -> TableLoader:
    """Loader of every validated table of a scenario's pool (``pool.load.load_pool``)."""

    def load(scenario: str) -> dict[str, pd.DataFrame]:
        from pool.load import PoolError, load_pool

        try:
            return load_pool(data_root, scenario)
        except (PoolError, KeyError):
            return {}

    return load
