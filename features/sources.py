"""Read a scenario's sources into an engine, checked, and cut to what was known as of a date.

Every failure names the source (``scenario.table``) and the problem: a missing or unreadable
file, a declared column that is absent, or a column whose stored type does not fit its
declaration. Structural checks read only Parquet footers, so they cost nothing at any scale;
``validate=True`` additionally runs the pool's full schema validation (``pool.load``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from ibis.backends import BaseBackend

from pool.spec import SourceSpec
from settings import get_settings

#: Which Arrow type families satisfy each declared dtype.
_COMPATIBLE = {
    "string": (pa.types.is_string, pa.types.is_large_string, pa.types.is_dictionary),
    "int64": (pa.types.is_integer,),
    "float64": (pa.types.is_floating, pa.types.is_integer),
    "bool": (pa.types.is_boolean,),
    "date": (pa.types.is_date, pa.types.is_timestamp),
    "datetime": (pa.types.is_timestamp, pa.types.is_date),
}


class SourceError(ValueError):
    """A source that is missing, unreadable or does not match its declaration."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"source {source}: {problem}")


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: ``root``, else ``$SUPERVISION_DATA``, else ``data``."""
    return Path(root) if root is not None else get_settings().supervision_data


def source_path(root: str | os.PathLike | None, spec: SourceSpec) -> Path:
    """Where the pool keeps one agency table."""
    return data_root(root) / "pool" / spec.scenario / f"{spec.table}.parquet"


def check_schema(schema: pa.Schema, spec: SourceSpec, source: str) -> None:
    """Raise ``SourceError`` when a declared column is absent or stored with an unfit type."""
    stored = {f.name: f.type for f in schema}
    missing = [c.name for c in spec.columns if c.name not in stored]
    if missing:
        raise SourceError(source, f"missing column(s) {missing}; present: {sorted(stored)}")
    for col in spec.columns:
        kind = stored[col.name]
        if pa.types.is_null(kind):
            continue
        tests = _COMPATIBLE.get(col.dtype, ())
        if tests and not any(test(kind) for test in tests):
            raise SourceError(
                source, f"column {col.name!r} is stored as {kind}, declared {col.dtype}"
            )


def read_parquet_source(
    con: BaseBackend, root: str | os.PathLike | None, spec: SourceSpec, *, validate: bool = False
) -> ir.Table:
    """Register one pool table with the engine after checking it (footer only by default)."""
    source = f"{spec.scenario}.{spec.table}"
    path = source_path(root, spec)
    if not path.is_file():
        raise SourceError(source, f"file {path} is missing (build the pool: `make data`)")
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceError(source, f"file {path} is not readable Parquet: {exc}") from exc
    check_schema(schema, spec, source)
    if validate:
        _validate_fully(root, spec)
    table = con.read_parquet(str(path), table_name=f"src_{spec.scenario}_{spec.table}")
    return table.select([c.name for c in spec.columns])


def frame_source(frame: pd.DataFrame, spec: SourceSpec) -> ir.Table:
    """Register an in-memory table (a loader's output) after the same structural check."""
    source = f"{spec.scenario}.{spec.table}"
    try:
        schema = pa.Schema.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SourceError(source, f"cannot be converted to Arrow: {exc}") from exc
    check_schema(schema, spec, source)
    return ibis.memtable(frame[[c.name for c in spec.columns]])


def as_of(table: ir.Table, spec: SourceSpec, when: date | None) -> ir.Table:
    """Only the rows known at ``when``: dated on or before it AND filed by it.

    A row with no business date or no filing date cannot be shown to be known in time, so it
    is left out too. ``when=None`` keeps everything (no point-in-time cut).
    """
    if when is None:
        return table
    cut = ibis.literal(when)
    for column in (spec.date_column, spec.filed_column):
        if column is not None:
            table = table.filter(table[column].notnull() & (table[column].cast("date") <= cut))
    return table


def _validate_fully(root: str | os.PathLike | None, spec: SourceSpec) -> None:
    # deferred: pool.load loads pandera, needed only for a full validation
    from pool.load import PoolError, load_source

    try:
        load_source(root, spec.scenario, spec.table)
    except PoolError as exc:
        raise SourceError(f"{spec.scenario}.{spec.table}", str(exc)) from exc


def register_frames(
    frames: Mapping[str, pd.DataFrame], specs: Mapping[str, SourceSpec]
) -> dict[str, ir.Table]:
    """Check and register every frame a custom loader returned, by table name."""
    tables = {}
    for name, spec in specs.items():
        if name not in frames:
            raise SourceError(f"{spec.scenario}.{name}", "the loader returned no such table")
        tables[name] = frame_source(frames[name], spec)
    return tables
