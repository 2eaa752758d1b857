"""The source records behind a lead: every row of the scenario's agency tables naming the entity.

Agencies type the same credit code or ID number differently (blanks, lower case, O for 0), so rows
are matched on the normalised form (``pool.keys.normalise_code``) of every text column. Some
agencies record a company by name only (tanker waybills, traffic cameras), so for an entity that
is a company (its id is a valid credit code) rows are also matched on the normalised name
(``pool.names.normalise_name``, branch suffix dropped) that the code-matched rows give it; person names are never used
(too many people share one). Tables are loaded and normalised once per pool version; a lookup is
then a vector comparison per column. Rows come newest first.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pandas as pd

from pool.keys import is_valid_uscc, normalise_code
from pool.names import normalise_name

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


def name_columns(table: pd.DataFrame) -> list[str]:
    """Columns holding a name: ``name`` or ``..._name``."""
    return [c for c in table.columns if c == "name" or str(c).endswith("_name")]


def sibling_name(table: pd.DataFrame, code_column: str) -> str | None:
    """The column naming what ``code_column`` identifies: ``buyer_code`` -> ``buyer_name``,
    else the table's own ``name``."""
    stem = str(code_column).removesuffix("_code")
    for candidate in (f"{stem}_name", "name"):
        if candidate != code_column and candidate in table.columns:
            return candidate
    return None


def _normalised_names(series: pd.Series) -> pd.Series:
    """``normalise_name`` of every value, computed once per distinct value."""
    values = series.dropna().unique()
    return series.map({v: normalise_name(v, drop_branch=True) for v in values})


def _newest_first(found: pd.DataFrame) -> pd.DataFrame:
    """Rows by their first date column, newest first (the table's order when it has none)."""
    dated = [c for c in found.columns if pd.api.types.is_datetime64_any_dtype(found[c])]
    if not dated:
        return found
    return found.sort_values(dated[0], ascending=False, kind="stable")


class EvidenceIndex:
    """Source records of a scenario's entities, from tables loaded once per pool version."""

    def __init__(self, loader: TableLoader, stamp: Callable[[], float]) -> None:
        self.loader = loader
        self.stamp = stamp
        self._cache: dict[str, tuple[float, dict[str, tuple[pd.DataFrame, dict]]]] = {}
        self._names: dict[tuple[str, str, str], pd.Series] = {}
        self._lock = threading.Lock()

    def _tables(self, scenario: str) -> dict[str, tuple[pd.DataFrame, dict]]:
        stamp = self.stamp()
        with self._lock:
            cached = self._cache.get(scenario)
            if cached is None or cached[0] != stamp:
                tables = self.loader(scenario)
                prepared = {name: (t, normalised_text_columns(t)) for name, t in tables.items()}
                self._cache[scenario] = (stamp, prepared)
                self._names = {k: v for k, v in self._names.items() if k[0] != scenario}
            return self._cache[scenario][1]

    def _name_column(self, scenario: str, table_name: str, table: pd.DataFrame,
                     column: str) -> pd.Series:
        key = (scenario, table_name, column)
        with self._lock:
            if key not in self._names:
                self._names[key] = _normalised_names(table[column])
            return self._names[key]

    def names(self, scenario: str, entity_ids: list[str]) -> dict[str, str | None]:
        """The agency's name of each entity (None when no table names it), from a per-pool
        index built once per pool version."""
        tables = self._tables(scenario)
        key = (scenario, "", "__names__")  # dropped with the scenario's tables on reload
        with self._lock:
            index = self._names.get(key)
        if index is None:
            from features.registry import get

            try:
                key_column = get(scenario).key_column
            except LookupError:
                key_column = ""
            index = pd.Series(entity_names(tables, key_column), dtype=object)
            with self._lock:
                self._names[key] = index
        return {e: index.get(normalise_code(e)) for e in entity_ids}

    def records(self, scenario: str, entity_id: str) -> dict[str, Any]:
        """Per table: how many rows name the entity (``by_name``: how many of them by name
        only), and the newest of them as plain dicts."""
        target = normalise_code(entity_id)
        tables = self._tables(scenario)
        by_code: dict[str, pd.Series] = {}
        names: set[str] = set()
        for name, (table, keys) in tables.items():
            hits = pd.Series(False, index=table.index)
            for column, series in keys.items():
                matched = series.eq(target).fillna(False).astype(bool)
                if matched.any():
                    hits |= matched
                    sibling = sibling_name(table, column)
                    if sibling is not None:
                        names |= {normalise_name(v, drop_branch=True)
                                  for v in table.loc[matched, sibling].unique()}
            by_code[name] = hits
        names.discard(None)
        company = bool(target) and is_valid_uscc(target)
        out: dict[str, Any] = {}
        for name, (table, _) in tables.items():
            hits = by_code[name]
            by_name = pd.Series(False, index=table.index)
            if company and names:
                for column in name_columns(table):
                    by_name |= self._name_column(scenario, name, table, column).isin(names)
                by_name &= ~hits
            found = table[(hits | by_name).to_numpy()]
            if len(found):
                rows = [{k: _plain(v) for k, v in row.items()}
                        for row in _newest_first(found).head(MAX_ROWS_PER_TABLE).to_dict("records")]
                out[name] = {"count": len(found), "by_name": int(by_name.sum()), "rows": rows}
        return out


#: Name columns that hold a person's name: never used to name a lead (对案不对人).
PERSON_NAME_COLUMNS = frozenset({"worker_name", "holder_name", "candidate_name",
                                 "borrower_name", "spouse_name", "foreman_name", "buyer_person"})


def entity_names(tables: dict[str, tuple[pd.DataFrame, dict]], key_column: str
                 ) -> dict[str, str]:
    """Normalised entity id -> the name an agency gives it, from the entity table (the first
    table holding ``key_column``): its own name column, else the name of another code in the
    same row (a loan is named by its borrowing company). Person names are skipped."""
    names: dict[str, str] = {}
    for table, keys in tables.values():  # every code that some table names
        for column, series in keys.items():
            sibling = sibling_name(table, column)
            if sibling is None or sibling in PERSON_NAME_COLUMNS or sibling == column:
                continue
            for code, name in zip(series, table[sibling], strict=True):
                if isinstance(code, str) and isinstance(name, str) and code not in names:
                    names[code] = name
    for _table, keys in tables.values():
        if key_column not in keys:
            continue
        out = {}
        others = [c for c in keys if c != key_column]
        for i, code in enumerate(keys[key_column]):
            if not isinstance(code, str):
                continue
            found = names.get(code) or next(
                (names[v] for c in others if isinstance(v := keys[c].iloc[i], str)
                 and v in names), None)
            if found:
                out[code] = found
        return out
    return names


def pool_tables(data_root: Any) -> TableLoader:
    """Loader of every validated table of a scenario's pool (``pool.load.load_pool``)."""

    def load(scenario: str) -> dict[str, pd.DataFrame]:
        from features.points import data_owner
        from pool.load import PoolError, load_pool

        try:  # a rule model of a supervision point shows its point's source records
            return load_pool(data_root, data_owner(scenario))
        except (PoolError, KeyError):
            return {}

    return load
