"""Load the simulated pool, validated: nothing downstream ever sees a table that broke its schema.

``load_source`` / ``load_pool`` / ``load_truth`` read Parquet files under a data root (default
``data/``, env ``SUPERVISION_DATA``), turn them into pandas with the declared dtypes and validate
them lazily, so one error lists every failure: the source (``scenario.table``), the column, the
rule and how many rows break it. A missing, truncated or unreadable file raises ``PoolFileError``
naming the source and the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.errors
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pool.arrow import to_pandas
from pool.discovery import pool_sources as sources
from pool.resources import threads, validate_rows
from pool.schemas import HISTORY_TABLE, history_source, source_schema, truth_source
from pool.spec import SourceSpec
from settings import get_settings

DEFAULT_ROOT = "data"
MAX_EXAMPLES = 3


class PoolError(Exception):
    """Base class of every error about the pool's files or contents."""


class PoolFileError(PoolError):
    """A pool file is missing, truncated or not Parquet."""


class PoolValidationError(PoolError, ValueError):
    """A table broke its schema. ``failures`` has one row per (column, rule)."""

    def __init__(self, source: str, failures: pd.DataFrame, n_rows: int) -> None:
        self.source = source
        self.failures = failures
        self.n_rows = n_rows
        lines = [f"{source}: {len(failures)} schema rule(s) broken ({n_rows} rows checked)"]
        for row in failures.itertuples(index=False):
            lines.append(f"  - column {row.column!r}, rule {row.rule}: {row.detail}")
        super().__init__("\n".join(lines))

    def __reduce__(
        self,
    ) -> tuple[
        type, tuple[Any, ...]
    ]:  # picklable (raised in a worker process, re-raised in the parent)
        return (type(self), (self.source, self.failures, self.n_rows))


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: ``root`` if given, else ``$SUPERVISION_DATA``, else ``data``."""
    return Path(root) if root is not None else get_settings().supervision_data


def source_path(root: str | os.PathLike | None, scenario: str, table: str) -> Path:
    """Where a table of the pool lives."""
    return data_root(root) / "pool" / scenario / f"{table}.parquet"


def truth_path(root: str | os.PathLike | None, scenario: str) -> Path:
    """Where the ground truth of a scenario lives (apart from the pool)."""
    return data_root(root) / "truth" / f"{scenario}.parquet"


def spec_for(scenario: str, table: str) -> SourceSpec:
    """The declaration of ``scenario.table`` (agency table or verification history)."""
    if table == HISTORY_TABLE:
        return history_source(scenario)
    for spec in sources(scenario):
        if spec.table == table:
            return spec
    known = [s.table for s in sources(scenario)] + [HISTORY_TABLE]
    raise KeyError(f"{scenario} has no table {table!r}; known: {', '.join(known)}")


def _summarise(err: pandera.errors.SchemaErrors) -> pd.DataFrame:
    """One row per (column, rule) with the number of rows breaking it and a few examples."""
    return _summarise_cases(err.failure_cases)


def _summarise_cases(failure_cases: pd.DataFrame) -> pd.DataFrame:
    """``_summarise`` on pandera's failure cases (of one frame or of several chunks)."""
    cases = failure_cases.copy()
    cases["column"] = cases["column"].fillna("<table>").astype(str)
    cases["rule"] = cases["check"].astype(str)
    rows = []
    for (column, rule), group in cases.groupby(["column", "rule"], sort=True):
        index = group["index"].dropna()
        examples = ", ".join(str(v) for v in group["failure_case"].head(MAX_EXAMPLES))
        if len(index):
            detail = f"{index.nunique()} rows break it (e.g. values {examples})"
        elif column == "<table>":
            detail = f"offending column(s): {examples}"
        else:
            detail = f"whole column fails (found {examples})"
        rows.append(
            {"column": column, "rule": rule, "n_rows": int(index.nunique()), "detail": detail}
        )
    return pd.DataFrame(rows, columns=["column", "rule", "n_rows", "detail"])


def validate(df: pd.DataFrame, spec: SourceSpec, *, strict: bool = True) -> pd.DataFrame:
    """Validate a frame against its declaration; raise ``PoolValidationError`` listing all failures."""
    try:
        return source_schema(spec, strict=strict).validate(df, lazy=True)
    except pandera.errors.SchemaErrors as err:
        raise PoolValidationError(
            f"{spec.scenario}.{spec.table}", _summarise(err), len(df)
        ) from None


def read_table(path: Path, source: str) -> pa.Table:
    """Read a Parquet file, turning every I/O or format failure into ``PoolFileError``."""
    if not path.is_file():
        raise PoolFileError(f"{source}: file {path} is missing (build the pool with `make data`)")
    try:
        return pq.read_table(path)
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError, ValueError) as exc:
        raise PoolFileError(
            f"{source}: file {path} is unreadable (truncated or not Parquet): {exc}"
        ) from exc


def load_source(root: str | os.PathLike | None, scenario: str, table: str) -> pd.DataFrame:
    """One validated table of the pool (an agency table or ``verification_history``)."""
    spec = spec_for(scenario, table)
    source = f"{scenario}.{table}"
    frame = to_pandas(read_table(source_path(root, scenario, table), source), spec)
    return validate(frame, spec)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_manifest(root: str | os.PathLike | None, scenario: str | None = None) -> None:
    """Check the files of the pool (or of one scenario) against the build's sha256 manifest.

    Catches a file changed after the build even when it still fits its schema.
    """
    base = data_root(root)
    path = base / "pool" / "manifest.json"
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError) as exc:
        raise PoolFileError(f"manifest {path} is missing or unreadable: {exc}") from exc
    prefixes = (f"pool/{scenario}/", f"truth/{scenario}") if scenario else ("",)
    for rel, meta in files.items():
        if not rel.startswith(prefixes):
            continue
        target = base / rel
        if not target.is_file():
            raise PoolFileError(f"{rel}: listed in {path} but missing")
        if sha256_of(target) != meta["sha256"]:
            raise PoolFileError(f"{rel}: sha256 differs from {path} (changed after the build)")


def load_pool(
    root: str | os.PathLike | None, scenario: str, *, check_manifest: bool = False
) -> dict[str, pd.DataFrame]:
    """Every table of a scenario, validated, keyed by table name (history included).

    Validates every table before returning any, so a bad file stops the whole load;
    ``check_manifest`` also compares every file with the build's sha256 manifest first.
    """
    if check_manifest:
        verify_manifest(root, scenario)
    tables = [s.table for s in sources(scenario)] + [HISTORY_TABLE]
    return {table: load_source(root, scenario, table) for table in tables}


def check_source(
    root: str | os.PathLike | None,
    scenario: str,
    table: str,
    *,
    spec: SourceSpec | None = None,
    path: Path | None = None,
    strict: bool = True,
    chunk_rows: int | None = None,
) -> int:
    """Validate one stored table chunk by chunk (Parquet batches of ``chunk_rows``, default
    ``SUPERVISION_VALIDATE_ROWS``), never holding more than a chunk and the unique-declared
    columns in memory; raise ``PoolValidationError`` listing every failure of the whole table
    (row numbers counted across chunks), as ``load_source`` does. Returns the rows checked.
    """

    spec = spec or spec_for(scenario, table)
    source = f"{scenario}.{table}"
    path = path or source_path(root, scenario, table)
    if not path.is_file():
        raise PoolFileError(f"{source}: file {path} is missing (build the pool with `make data`)")
    unique = [c.name for c in spec.columns if c.checks.get("unique")]
    schema = source_schema(spec, strict=strict)
    for name in unique:  # checked across chunks below
        schema = schema.update_column(name, unique=False)
    cases: list = []
    keys: dict[str, list] = {name: [] for name in unique}
    offset = 0
    try:
        reader = pq.ParquetFile(path)
        for batch in reader.iter_batches(batch_size=chunk_rows or validate_rows()):
            chunk = pa.Table.from_batches([batch])
            frame = to_pandas(chunk, spec)
            frame.index = pd.RangeIndex(offset, offset + len(frame))
            try:
                schema.validate(frame, lazy=True)
            except pandera.errors.SchemaErrors as err:
                cases.append(err.failure_cases)
            for name in unique:
                if name in chunk.column_names:
                    keys[name].append(chunk.column(name))
            offset += len(frame)
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        raise PoolFileError(
            f"{source}: file {path} is unreadable (truncated or not Parquet): {exc}"
        ) from exc
    for name, parts in keys.items():
        if parts:
            cases.append(_duplicates(name, pa.chunked_array(parts)))
    cases = [c for c in cases if len(c)]
    if cases:
        found = pd.concat(cases, ignore_index=True)
        whole = found[found["index"].isna()].drop_duplicates(["column", "check", "failure_case"])
        found = pd.concat([found[found["index"].notna()], whole], ignore_index=True)
        raise PoolValidationError(source, _summarise_cases(found), offset)
    return offset


def _duplicates(column: str, values: pa.ChunkedArray) -> pd.DataFrame:
    """pandera-shaped failure cases of a unique-declared column: every repeated value's rows.

    The common case, no value repeated, is settled in Arrow (distinct count against non-null
    count: a hash table of the distinct values, no Python object per row), so a table of tens
    of millions of keys is checked in about the memory of its Arrow column; only a column that
    does repeat a value is turned into a pandas series to list the rows.
    """
    distinct = pc.count_distinct(values, mode="only_valid").as_py()
    if distinct == pc.count(values, mode="only_valid").as_py():
        return pd.DataFrame(
            {
                "column": pd.Series([], dtype=object),
                "check": pd.Series([], dtype=object),
                "index": pd.Series([], dtype=float),
                "failure_case": pd.Series([], dtype=object),
            }
        )
    series = pd.Series(values.to_numpy(zero_copy_only=False))
    dupes = series.duplicated(keep=False) & series.notna()
    rows = np.flatnonzero(dupes.to_numpy())
    return pd.DataFrame(
        {
            "column": column,
            "check": "field_uniqueness",
            "index": rows.astype(float),
            "failure_case": series.iloc[rows].to_numpy(),
        }
    )


def check_pool(
    root: str | os.PathLike | None,
    scenario: str,
    *,
    check_manifest: bool = False,
    truth: bool = False,
) -> dict[str, int]:
    """``load_pool``'s validation without loading the pool: every table of a scenario checked
    by chunk (``check_source``), the tables spread over ``SUPERVISION_THREADS`` threads; rows
    checked per table. ``truth`` also checks the ground
    truth (the build does, training never reads it)."""

    if check_manifest:
        verify_manifest(root, scenario)
    base = data_root(root)
    jobs: list[tuple[Path, str, str, Any, Path | None, bool]] = [
        (base, scenario, s.table, s, None, True) for s in sources(scenario)
    ]
    jobs.append((base, scenario, HISTORY_TABLE, history_source(scenario), None, True))
    if truth:
        jobs.append(
            (base, scenario, "truth", truth_source(scenario), truth_path(base, scenario), False)
        )
    workers = min(threads(), len(jobs))
    if workers < 2:
        return {job[2]: _check_job(job) for job in jobs}
    # threads, not processes: the Arrow reads and pandas checks release the GIL for part of
    # their work, and a worker process would re-import the caller's main module
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers, thread_name_prefix="pool-check") as pool:
        counted = list(pool.map(_check_job, jobs))
    return {job[2]: n for job, n in zip(jobs, counted, strict=True)}


def _check_job(job: tuple) -> int:
    root, scenario, table, spec, path, strict = job
    return check_source(root, scenario, table, spec=spec, path=path, strict=strict)


def load_truth(root: str | os.PathLike | None, scenario: str) -> pd.DataFrame:
    """The ground truth of a scenario. For evaluation only: training must never call this."""
    spec = truth_source(scenario)
    source = f"{scenario}.truth"
    table = read_table(truth_path(root, scenario), source)
    return validate(to_pandas(table, spec), spec, strict=False)
