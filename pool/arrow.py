"""Declared column types <-> Arrow/Parquet types, in one place.

The build writes every table with an explicit Arrow schema derived from its ``SourceSpec`` (so a
file's types never depend on what pandas happened to infer), and the loader turns Arrow back into
the pandas dtypes the validation schemas expect.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from pool.spec import ColumnSpec, SourceSpec

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us"),
}


class PoolTypeError(TypeError):
    """A simulated column cannot be stored with its declared type."""


def arrow_schema(spec: SourceSpec) -> pa.Schema:
    """The Arrow schema of a declared source, with its description as metadata."""
    fields = [pa.field(c.name, _arrow_type(spec, c), nullable=c.nullable) for c in spec.columns]
    meta = {"source": f"{spec.scenario}.{spec.table}", "agency": spec.agency}
    return pa.schema(fields, metadata=meta)


def _arrow_type(spec: SourceSpec, col: ColumnSpec) -> pa.DataType:
    try:
        return ARROW_TYPES[col.dtype]
    except KeyError:
        raise PoolTypeError(
            f"{spec.scenario}.{spec.table}: column {col.name!r} declares unknown dtype "
            f"{col.dtype!r}; allowed: {', '.join(ARROW_TYPES)}"
        ) from None


def _column_array(values: pd.Series, col: ColumnSpec, target: pa.DataType) -> pa.Array:
    if col.dtype in ("date", "datetime"):
        stamps = pd.to_datetime(values)
        if col.dtype == "date":
            stamps = stamps.dt.normalize()
        return pa.array(stamps.astype("datetime64[us]"), type=pa.timestamp("us")).cast(target)
    if col.dtype == "string":
        if isinstance(values.dtype, pd.CategoricalDtype):
            return pa.array(values, from_pandas=True).dictionary_decode().cast(target)
        if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
            return pa.array(values, from_pandas=True).cast(target)
        return pa.array(values.astype(object).where(values.notna(), None), type=target)
    return pa.array(values, type=target, from_pandas=True)


def to_arrow_table(df: pd.DataFrame, spec: SourceSpec) -> pa.Table:
    """An Arrow table with exactly the declared columns, in declared order and types.

    Raises ``PoolTypeError`` naming the source and column when a column is missing or its values
    do not fit the declared type (a simulation bug, caught before anything is written).
    """
    schema = arrow_schema(spec)
    arrays = []
    for col, fld in zip(spec.columns, schema, strict=True):
        if col.name not in df.columns:
            raise PoolTypeError(
                f"{spec.scenario}.{spec.table}: declared column {col.name!r} missing"
            )
        try:
            arrays.append(_column_array(df[col.name], col, fld.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError) as exc:
            raise PoolTypeError(
                f"{spec.scenario}.{spec.table}: column {col.name!r} does not fit dtype "
                f"{col.dtype!r}: {exc}"
            ) from exc
    extra = sorted(set(df.columns) - {c.name for c in spec.columns})
    if extra:
        raise PoolTypeError(f"{spec.scenario}.{spec.table}: undeclared columns {extra}")
    return pa.Table.from_arrays(arrays, schema=schema.remove_metadata()).replace_schema_metadata(
        schema.metadata
    )


def to_pandas(table: pa.Table, spec: SourceSpec) -> pd.DataFrame:
    """A pandas frame from a stored table: dates as datetime64[us], nullable ints as Int64.

    Columns keep whatever type the file really has otherwise, so a wrong type on disk is left for
    validation to report rather than silently coerced.
    """
    df = table.to_pandas(date_as_object=False)
    declared = {c.name: c for c in spec.columns}
    for name in df.columns:
        col = declared.get(name)
        if col is None:
            continue
        if col.dtype in ("date", "datetime") and pd.api.types.is_datetime64_any_dtype(df[name]):
            df[name] = df[name].astype("datetime64[us]")
        elif (
            col.dtype == "int64"
            and col.nullable
            and pa.types.is_integer(table.schema.field(name).type)
        ):
            df[name] = df[name].astype("Int64")
    return df
