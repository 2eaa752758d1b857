"""The source records behind a lead: every row of the scenario's agency tables naming the entity.

Agencies type the same credit code or ID number differently (blanks, lower case, O for 0), so rows
are matched on the normalised form (``pool.keys.normalise_code``) of every text column. Some
agencies record a company by name only (tanker waybills, traffic cameras), so for an entity that
is a company (its id is a valid credit code) rows are also matched on the normalised name
(``pool.names.normalise_name``, branch suffix dropped) that the code-matched rows give it; person
names are never used (too many people share one). Tables are loaded, normalised and indexed
(sorted keys, :class:`KeyIndex`) once per pool version, when a model of the scenario is loaded; a
lookup is then a binary search per table. Rows come newest first.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from pool.keys import is_valid_uscc, normalise_code
from pool.names import normalise_name

MAX_ROWS_PER_TABLE = 50
#: Entities whose records (and views of them) each scenario index keeps, most recent first.
MEMO_ENTITIES = 4096
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


ColumnTaker = Callable[[np.ndarray], list[Any]]


def column_taker(series: pd.Series) -> ColumnTaker:
    """A function from row positions to the column's values there as JSON-friendly scalars,
    equal to ``_plain`` of each value, converted a column at a time (numpy's ``tolist`` and
    Arrow's ``to_pylist`` in C) instead of value by value: a lead detail shows up to 50 rows
    of each of its agency tables, and per-value conversion was most of its cost."""
    dtype = series.dtype
    if _whole_microseconds(series):
        micro = series.to_numpy().astype("datetime64[us]")

        def dates(positions: np.ndarray) -> list[Any]:
            return [None if v is None else v.isoformat() for v in micro[positions].tolist()]

        return dates
    if dtype.kind == "f" and isinstance(dtype, np.dtype):
        floats = series.to_numpy()

        def numbers(positions: np.ndarray) -> list[Any]:
            return [None if v != v else v for v in floats[positions].tolist()]  # NaN -> null

        return numbers
    if dtype.kind in "iub" and isinstance(dtype, np.dtype):
        plain = series.to_numpy()
        return lambda positions: plain[positions].tolist()
    arrow = getattr(series.array, "_pa_array", None)
    if arrow is not None and pd.api.types.is_string_dtype(dtype):
        import pyarrow as pa

        chunk = arrow.combine_chunks() if isinstance(arrow, pa.ChunkedArray) else arrow
        return lambda positions: chunk.take(pa.array(positions)).to_pylist()
    values = series.array
    return lambda positions: [_plain(v) for v in values.take(positions)]


def _whole_microseconds(series: pd.Series) -> bool:
    """A timezone-naive date column whose values are all whole microseconds (numpy's
    ``datetime`` objects then print as pandas' Timestamps do)."""
    if not pd.api.types.is_datetime64_any_dtype(series.dtype) or not isinstance(
        series.dtype, np.dtype
    ):
        return False
    ticks = series.to_numpy().view("int64")
    unit = np.datetime_data(series.dtype)[0]
    return unit in ("s", "ms", "us") or bool((ticks[~series.isna().to_numpy()] % 1000 == 0).all())


def plain_rows(
    columns: list[str], takers: list[ColumnTaker], positions: np.ndarray
) -> list[dict[str, Any]]:
    """The rows at ``positions`` as plain dicts (column name -> JSON-friendly value)."""
    if not len(positions):
        return []
    taken = [take(positions) for take in takers]
    return [dict(zip(columns, values, strict=True)) for values in zip(*taken, strict=True)]


def _normalised(series: pd.Series, fn: Callable[[Any], Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, normalised)``: each row's position among the column's distinct values (-1 for
    a missing value) and ``fn`` of each distinct value (None where it gives nothing). ``fn``
    runs once per distinct value, in Python; the rest is vectorised."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    values = np.asarray(uniques, dtype=object)
    if fn is normalise_code:
        return codes, normalise_codes(values)
    return codes, np.array([fn(v) for v in values] + [None], dtype=object)[: len(values)]


ASCII_BLANKS = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"  # what str.strip() removes from ASCII text


def normalise_codes(values: np.ndarray) -> np.ndarray:
    """``normalise_code`` of every value, vectorised (Arrow) for ASCII text, which every credit
    code and ID number is, and value by value for the rest; the same results either way."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = np.empty(len(values), dtype=object)
    text = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    if text.any():
        arrow = pa.array(values[text], type=pa.string())
        ascii_ = pc.string_is_ascii(arrow).to_numpy(zero_copy_only=False)
        plain = pc.ascii_upper(
            pc.utf8_trim(arrow.filter(pa.array(ascii_)), characters=ASCII_BLANKS)
        )
        empty = pc.is_in(plain, value_set=pa.array(["", "NAN", "NONE"])).to_numpy(
            zero_copy_only=False
        )
        for sep in (" ", "-", "_", "."):
            plain = pc.replace_substring(plain, sep, "")
        plain = pc.replace_substring(pc.replace_substring(plain, "O", "0"), "I", "1")
        done = plain.to_numpy(zero_copy_only=False).astype(object)
        done[empty] = None
        positions = np.flatnonzero(text)
        out[positions[ascii_]] = done
        rest = positions[~ascii_]
        out[rest] = [normalise_code(v) for v in values[rest]]
    others = np.flatnonzero(~text)
    out[others] = [normalise_code(v) for v in values[others]]
    return out


def _as_series(index: pd.Index, codes: np.ndarray, normalised: np.ndarray) -> pd.Series:
    """The normalised column as a Series (missing where the value was missing or gave None)."""
    values = np.where(
        codes >= 0, normalised[np.maximum(codes, 0)] if len(normalised) else None, None
    )
    return pd.Series(values, index=index, dtype=object)


def is_text(series: pd.Series) -> bool:
    """A text column (one that can hold a key)."""
    return pd.api.types.is_string_dtype(series) or series.dtype == object


def normalised_text_columns(table: pd.DataFrame) -> dict[str, pd.Series]:
    """Normalised copies of the table's text columns (the ones that can hold a key)."""
    return {
        c: _as_series(table.index, *_normalised(table[c], normalise_code))
        for c in table.columns
        if is_text(table[c])
    }


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


def _company_name(value: Any) -> str | None:
    return normalise_name(value, drop_branch=True)


class KeyIndex:
    """The rows of a table holding a normalised key, per column, found by one dict look-up.

    Each column is factorised (its distinct values numbered) and ``fn`` normalises each distinct
    value once; the rows of every (column, distinct value) group sit together in one integer
    sort. The first lead detail after a start used to normalise, and every detail used to scan,
    every text cell of every agency table."""

    def __init__(self, table: pd.DataFrame, columns: list[str], fn: Callable[[Any], Any]) -> None:
        self.columns = list(columns)
        self.normalised: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        groups: dict[str, list[int]] = {}
        group_codes, offset = [], 0
        self.offsets = [0]
        for column in self.columns:
            codes, normalised = _normalised(table[column], fn)
            self.normalised[column] = (codes, normalised)
            for u, key in enumerate(normalised):
                if key is not None:
                    groups.setdefault(key, []).append(offset + u)
            group_codes.append(np.where(codes >= 0, codes + offset, -1))
            offset += len(normalised)
            self.offsets.append(offset)
        flat = np.concatenate(group_codes) if group_codes else np.empty(0, dtype="int64")
        rows = np.flatnonzero(flat >= 0)
        order = np.argsort(flat[rows], kind="stable")
        self.rows = rows[order] % max(len(table), 1)  # flat position -> row position
        self.starts = np.concatenate([[0], np.cumsum(np.bincount(flat[rows], minlength=offset))])
        self.groups = groups
        self.n_rows = len(table)

    def series(self, column: str, index: pd.Index) -> pd.Series:
        """The normalised column (missing where nothing normalises)."""
        return _as_series(index, *self.normalised[column])

    def find(self, key: str | None) -> tuple[np.ndarray, np.ndarray]:
        """Row positions holding ``key`` and the position of the column each was found in."""
        rows, cols = [], []
        for group in self.groups.get(key, ()) if key is not None else ():
            found = self.rows[self.starts[group] : self.starts[group + 1]]
            rows.append(found)
            j = int(np.searchsorted(self.offsets, group, side="right")) - 1
            cols.append(np.full(len(found), j, dtype="int32"))
        if not rows:
            return np.empty(0, dtype="int64"), np.empty(0, dtype="int32")
        return np.concatenate(rows), np.concatenate(cols)

    def find_any(self, keys: set[str]) -> np.ndarray:
        """Row positions holding any of ``keys`` (each row once, in table order)."""
        found = [self.find(k)[0] for k in keys]
        return np.unique(np.concatenate(found)) if found else np.empty(0, dtype="int64")


def contiguous(table: pd.DataFrame) -> pd.DataFrame:
    """The table with every Arrow-backed column in one chunk: taking a lead's rows from a
    column of several chunks cost ten times as much (a Parquet file reads as several)."""
    out = {}
    for column in table.columns:
        array = table[column].array
        chunks = getattr(array, "_pa_array", None)
        if chunks is not None and getattr(chunks, "num_chunks", 1) > 1:
            array = pd.array(chunks.combine_chunks(), dtype=table[column].dtype)
        out[column] = array
    return pd.DataFrame(out, index=table.index, columns=table.columns)


@dataclass(frozen=True)
class IndexedTable:
    """One agency table with its code index (every text column, normalised) and name index
    (its name columns, normalised with the branch suffix dropped)."""

    table: pd.DataFrame
    codes: KeyIndex
    names: KeyIndex
    siblings: tuple[str | None, ...]  # per code column: the column naming what it identifies
    dates: np.ndarray | None = None  # the first date column (rows are shown newest first)
    takers: tuple[ColumnTaker, ...] = ()  # per column: positions -> plain values

    def rows(self, positions: np.ndarray) -> list[dict[str, Any]]:
        """The table's rows at ``positions`` as plain dicts, in that order."""
        return plain_rows(list(self.table.columns), list(self.takers), positions)

    @classmethod
    def of(cls, table: pd.DataFrame) -> IndexedTable:
        table = contiguous(table)
        codes = KeyIndex(table, [c for c in table.columns if is_text(table[c])], normalise_code)
        names = KeyIndex(table, name_columns(table), _company_name)
        dated = [c for c in table.columns if pd.api.types.is_datetime64_any_dtype(table[c])]
        return cls(
            table,
            codes,
            names,
            tuple(sibling_name(table, c) for c in codes.columns),
            table[dated[0]].to_numpy() if dated else None,
            tuple(column_taker(table[c]) for c in table.columns),
        )

    def keys(self) -> dict[str, pd.Series]:
        """The normalised text columns (``normalised_text_columns`` of the table)."""
        return {c: self.codes.series(c, self.table.index) for c in self.codes.columns}


def newest(indexed: IndexedTable, positions: np.ndarray) -> np.ndarray:
    """``positions`` with their rows newest first by the table's first date column (stable;
    table order when it has none), sorting only the dates, so only the rows shown are taken
    from the table."""
    if indexed.dates is None:
        return positions
    dates = pd.Series(indexed.dates[positions], index=positions)
    return dates.sort_values(ascending=False, kind="stable").index.to_numpy()


@dataclass(frozen=True)
class ScenarioIndex:
    """Everything a lead detail reads about a scenario's pool, built once per pool version."""

    stamp: float
    tables: dict[str, IndexedTable]
    entity_names: pd.Series  # normalised entity id -> the agency's name of it
    memo: Memo = field(default_factory=lambda: Memo(MEMO_ENTITIES), compare=False, repr=False)


class Memo:
    """A bounded, thread-safe map of answers computed from one immutable index (a lead's
    records, their masked view): staff open the same leads again and again, and an answer can
    only change with the index, which a new pool version replaces with its own empty memo."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The answer kept under ``key``, made now (outside the lock) if there is none. Callers
        must not change what they get: it is shared with the next caller."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        made = make()
        with self._lock:
            self._items[key] = made
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return made


class EvidenceIndex:
    """Source records of a scenario's entities, from tables loaded and indexed once per pool
    version: by :meth:`build` when a model is loaded (so no request pays for it), or on the
    first request after the pool changed."""

    def __init__(
        self,
        loader: TableLoader,
        stamp: Callable[[], float],
        owner: Callable[[str], str] | None = None,
    ) -> None:
        self.loader = loader
        self.stamp = stamp
        self.owner = owner or (lambda scenario: scenario)
        self._built: dict[tuple[str, str], ScenarioIndex] = {}
        self._lock = threading.Lock()

    def _key(self, scenario: str) -> tuple[str, str]:
        """Scenarios reading the same tables with the same entity key share one index (a rule
        model and the learnt model of its supervision point)."""
        # deferred: kept off the service's cold start (benchmarks.bench_coldstart)
        from features.registry import get

        try:
            key_column = get(scenario).key_column
        except LookupError:
            key_column = ""
        return self.owner(scenario), key_column

    def is_built(self, scenario: str) -> bool:
        """Whether the scenario's index is built for the pool as it is now."""
        found = self._built.get(self._key(scenario))
        return found is not None and found.stamp == self.stamp()

    def build(self, scenario: str) -> ScenarioIndex:
        """The scenario's index for the current pool version, built now if it is not yet."""
        stamp = self.stamp()
        key = self._key(scenario)
        found = self._built.get(key)
        if found is not None and found.stamp == stamp:
            return found
        with self._lock:
            found = self._built.get(key)
            if found is not None and found.stamp == stamp:
                return found
            indexed = {name: IndexedTable.of(t) for name, t in self.loader(scenario).items()}
            names = entity_names({n: (t.table, t.keys()) for n, t in indexed.items()}, key[1])
            built = ScenarioIndex(stamp, indexed, pd.Series(names, dtype=object))
            self._built[key] = built
            return built

    def names(self, scenario: str, entity_ids: list[str]) -> dict[str, str | None]:
        """The agency's name of each entity (None when no table names it)."""
        index = self.build(scenario).entity_names
        return {e: index.get(normalise_code(e)) for e in entity_ids}

    def records(self, scenario: str, entity_id: str) -> dict[str, Any]:
        """Per table: how many rows name the entity (``by_name``: how many of them by name
        only), and the newest of them as plain dicts (kept per index: not to be changed)."""
        built = self.build(scenario)
        return built.memo.get(("records", entity_id), lambda: self._records(built, entity_id))

    def view(
        self,
        scenario: str,
        entity_id: str,
        name: Hashable,
        make: Callable[[dict[str, Any]], Any],
    ) -> Any:
        """``make(records)`` for the entity, kept per index under ``name`` (its masked
        records, say); ``name`` must say everything besides the records that ``make`` reads."""
        built = self.build(scenario)

        def made() -> Any:
            key = ("records", entity_id)
            return make(built.memo.get(key, lambda: self._records(built, entity_id)))

        return built.memo.get((name, entity_id), made)

    def _records(self, built: ScenarioIndex, entity_id: str) -> dict[str, Any]:
        target = normalise_code(entity_id)
        tables = built.tables
        by_code: dict[str, np.ndarray] = {}
        names: set[str] = set()
        for name, indexed in tables.items():
            rows, cols = (
                indexed.codes.find(target)
                if target
                else (np.empty(0, "int64"), np.empty(0, "int32"))
            )
            by_code[name] = np.unique(rows)
            for j in np.unique(cols):
                sibling = indexed.siblings[j]
                if sibling is not None:
                    values = indexed.table[sibling].iloc[rows[cols == j]].unique()
                    for v in values:
                        normalised = normalise_name(v, drop_branch=True)
                        if normalised is not None:
                            names.add(normalised)
        company = target is not None and is_valid_uscc(target)
        out: dict[str, Any] = {}
        for name, indexed in tables.items():
            hits = by_code[name]
            by_name = np.empty(0, dtype="int64")
            if company and names:
                by_name = np.setdiff1d(indexed.names.find_any(names), hits)
            positions = np.union1d(hits, by_name)
            if len(positions):
                shown = indexed.rows(newest(indexed, positions)[:MAX_ROWS_PER_TABLE])
                out[name] = {"count": len(positions), "by_name": len(by_name), "rows": shown}
        return out


#: Name columns that hold a person's name: never used to name a lead (对案不对人).
PERSON_NAME_COLUMNS = frozenset(
    {
        "worker_name",
        "holder_name",
        "candidate_name",
        "borrower_name",
        "spouse_name",
        "foreman_name",
        "buyer_person",
    }
)


def entity_names(tables: dict[str, tuple[pd.DataFrame, dict]], key_column: str) -> dict[str, str]:
    """Normalised entity id -> the name an agency gives it, from the entity table (the first
    table holding ``key_column``): its own name column, else the name of another code in the
    same row (a loan is named by its borrowing company). Person names are skipped. Where
    several rows name a code, the first table's first row wins."""
    pairs = []
    for table, keys in tables.values():  # every code that some table names
        for column, series in keys.items():
            sibling = sibling_name(table, column)
            if sibling is None or sibling in PERSON_NAME_COLUMNS or sibling == column:
                continue
            pairs.append(
                pd.DataFrame(
                    {
                        "code": series.to_numpy(dtype=object),
                        "name": table[sibling].to_numpy(dtype=object),
                    }
                )
            )
    names = pd.Series(dtype=object)
    if pairs:
        both = pd.concat(pairs, ignore_index=True)
        both = both[both["code"].notna() & both["name"].notna()]  # codes are text or None
        both = both[both["name"].map(_is_text)]
        first = both.drop_duplicates("code", keep="first")
        names = pd.Series(first["name"].to_numpy(), index=first["code"].to_numpy(), dtype=object)
    for _table, keys in tables.values():
        if key_column not in keys:
            continue
        codes = keys[key_column]
        found = codes.map(names)
        for column in (c for c in keys if c != key_column):
            found = found.where(found.map(_is_named), keys[column].map(names))
        keep = codes.notna() & found.map(_is_named)
        named = pd.DataFrame({"code": codes[keep].to_numpy(), "name": found[keep].to_numpy()})
        named = named.drop_duplicates("code", keep="last")  # a later row names it last
        return dict(zip(named["code"], named["name"], strict=True))
    return names.to_dict()


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_named(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def evidence_owner(scenario: str) -> str:
    """The scenario whose pool tables ``scenario`` shows (``features.points.data_owner``;
    itself when it is not declared)."""
    # deferred: kept off the service's cold start (benchmarks.bench_coldstart)
    from features.points import data_owner

    try:
        return data_owner(scenario)
    except KeyError:
        return scenario


def pool_tables(data_root: Any) -> TableLoader:
    """Loader of every validated table of a scenario's pool (``pool.load.load_pool``)."""

    def load(scenario: str) -> dict[str, pd.DataFrame]:
        # deferred: kept off the service's cold start (benchmarks.bench_coldstart)
        from features.points import data_owner
        from pool.load import PoolError, load_pool

        try:  # a rule model of a supervision point shows its point's source records
            return load_pool(data_root, data_owner(scenario))
        except (PoolError, KeyError):
            return {}

    return load
