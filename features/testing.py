"""Write small hand-made pools: the tests' (and a new model author's) way to pin down features.

A feature is only trusted once it gives a hand-computed value on a handful of entities. These
helpers take a few rows per agency table, fill every other declared column with a neutral value
and write the table exactly as the pool does (declared Arrow types, ``pool.arrow``), so the
feature build reads it through the same checks as a real pool.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from pool.arrow import to_arrow_table
from pool.keys import id_check_char, uscc_check_char
from pool.spec import ColumnSpec, SourceSpec

_DEFAULTS = {"string": "", "int64": 0, "float64": 0.0, "bool": False}


def uscc(body: str) -> str:
    """A valid credit code from a 17-character body (check character appended)."""
    return body + uscc_check_char(body)


def resident_id(body: str) -> str:
    """A valid resident ID number from a 17-digit body (check character appended)."""
    return body + id_check_char(body)


def broken_check(code: str) -> str:
    """The same code with a wrong check character (a typo agencies make)."""
    last = "1" if code[-1] != "1" else "2"
    return code[:-1] + last


def _default(col: ColumnSpec, n: int) -> pd.Series:
    if col.dtype in ("date", "datetime"):
        return pd.Series(pd.Timestamp("2000-01-01"), index=range(n))
    if col.nullable and col.dtype in ("int64", "float64"):
        return pd.Series([None] * n, dtype="Float64" if col.dtype == "float64" else "Int64")
    return pd.Series([_DEFAULTS[col.dtype]] * n)


def complete(rows: pd.DataFrame, spec: SourceSpec) -> pd.DataFrame:
    """``rows`` with every declared column present (neutral values where not given)."""
    out = rows.reset_index(drop=True).copy()
    for col in spec.columns:
        if col.name not in out.columns:
            out[col.name] = _default(col, len(out))
    return out[[c.name for c in spec.columns]]


def write_pool(
    root: str | Path,
    specs: Sequence[SourceSpec],
    tables: Mapping[str, pd.DataFrame | list[dict]],
) -> Path:
    """Write ``tables`` (by table name) under ``root/pool/<scenario>/``; returns ``root``."""
    by_name = {s.table: s for s in specs}
    for name, rows in tables.items():
        spec = by_name[name]
        frame = complete(pd.DataFrame(rows), spec)
        path = Path(root) / "pool" / spec.scenario / f"{name}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(to_arrow_table(frame, spec), path)
    return Path(root)
