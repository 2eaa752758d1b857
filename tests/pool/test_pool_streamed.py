"""Streamed validation (issue 17): ``check_source`` / ``check_pool`` find what ``load_source``
finds, by chunk, across chunk boundaries and on worker threads; resource settings are
refused naming the variable."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pool_fixtures import fuel_root  # noqa: F401

from pool import resources
from pool.arrow import PoolTypeError, to_arrow_table
from pool.build import PARQUET_OPTIONS, write_source
from pool.load import PoolFileError, PoolValidationError, check_pool, check_source, load_source
from pool.spec import ColumnSpec, SourceSpec


@pytest.fixture()
def pool_copy(fuel_root, tmp_path) -> Path:  # noqa: F811
    root = tmp_path / "data"
    shutil.copytree(fuel_root, root)
    return root


def _rewrite(root: Path, table: str, change) -> None:
    path = root / "pool" / "fuel_tax" / f"{table}.parquet"
    frame = pq.read_table(path).to_pandas()
    pq.write_table(pa.Table.from_pandas(change(frame), preserve_index=False), path)


def _counts(err: PoolValidationError) -> dict[tuple[str, str], int]:
    return err.failures.set_index(["column", "rule"])["n_rows"].to_dict()


def test_a_clean_pool_passes_and_every_row_is_counted(fuel_root):  # noqa: F811
    counted = check_pool(fuel_root, "fuel_tax", check_manifest=True, truth=True)
    assert set(counted) >= {"tax_filings", "verification_history", "truth"}
    rows = pq.ParquetFile(fuel_root / "pool" / "fuel_tax" / "tax_filings.parquet").metadata
    assert counted["tax_filings"] == rows.num_rows > 0


def test_chunked_check_finds_what_the_whole_table_check_finds(pool_copy):
    def spoil(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        last = len(frame) - 1
        frame.loc[[0, 5, last], "litres"] = -10.0
        frame.loc[[1, 2], "consignee_district"] = "Gotham"
        # a duplicate whose two rows fall in different chunks
        frame.loc[last - 1, "waybill_no"] = frame.loc[3, "waybill_no"]
        return frame

    _rewrite(pool_copy, "tanker_waybills", spoil)
    with pytest.raises(PoolValidationError) as whole:
        load_source(pool_copy, "fuel_tax", "tanker_waybills")
    path = pool_copy / "pool" / "fuel_tax" / "tanker_waybills.parquet"
    quarter = pq.ParquetFile(path).metadata.num_rows // 4  # rows 3 and last-1: chunks 1 and 4
    with pytest.raises(PoolValidationError) as chunked:
        check_source(pool_copy, "fuel_tax", "tanker_waybills", chunk_rows=quarter)
    assert _counts(chunked.value) == _counts(whole.value)
    assert _counts(chunked.value)[("waybill_no", "field_uniqueness")] == 2
    assert chunked.value.n_rows == whole.value.n_rows
    assert str(chunked.value).startswith("fuel_tax.tanker_waybills:")


def test_a_broken_table_stops_the_pool_check_on_worker_threads(pool_copy, monkeypatch):
    monkeypatch.setenv("SUPERVISION_THREADS", "2")
    _rewrite(
        pool_copy,
        "tax_filings",
        lambda f: f.assign(declared_diesel_litres=f["declared_diesel_litres"].astype(str)),
    )
    with pytest.raises(PoolValidationError) as err:
        check_pool(pool_copy, "fuel_tax")
    assert str(err.value).startswith("fuel_tax.tax_filings:")
    assert "column 'declared_diesel_litres', rule dtype('float64')" in str(err.value)


def test_a_truncated_file_is_named(pool_copy):
    path = pool_copy / "pool" / "fuel_tax" / "tax_filings.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(PoolFileError, match=r"fuel_tax\.tax_filings: file .* is unreadable"):
        check_pool(pool_copy, "fuel_tax")


@pytest.mark.parametrize(
    ("name", "value", "call"),
    [
        ("SUPERVISION_THREADS", "0", resources.threads),
        ("SUPERVISION_THREADS", "two", resources.threads),
        ("SUPERVISION_DUCKDB_MEMORY", "lots", resources.duckdb_settings),
        ("SUPERVISION_SPARK_MASTER", "http://x", resources.spark_settings),
        ("SUPERVISION_SPARK_DRIVER_MEMORY", "4 gigs", resources.spark_settings),
    ],
)
def test_bad_resource_settings_name_the_variable(monkeypatch, name, value, call):
    monkeypatch.setenv(name, value)
    with pytest.raises(resources.ResourceSettingError, match=name):
        call()


def test_resource_settings_reach_duckdb_and_spark(monkeypatch, tmp_path):
    from features.engines import connect

    monkeypatch.setenv("SUPERVISION_THREADS", "1")
    monkeypatch.setenv("SUPERVISION_DUCKDB_MEMORY", "512MB")
    monkeypatch.setenv("SUPERVISION_DUCKDB_TEMP", str(tmp_path / "spill"))
    con = connect("duckdb")
    setting = con.raw_sql(
        "SELECT current_setting('threads'), current_setting('memory_limit'), "
        "current_setting('temp_directory')"
    ).fetchone()
    assert setting[0] == 1 and setting[1].startswith(("488", "512")) and "spill" in setting[2]
    assert (tmp_path / "spill").is_dir()
    monkeypatch.setenv("SUPERVISION_SPARK_MASTER", "spark://head:7077")
    monkeypatch.setenv("SUPERVISION_SPARK_EXECUTOR_MEMORY", "4g")
    spark = resources.spark_settings()
    assert (spark.master, spark.executor_memory, spark.partitions) == ("spark://head:7077", "4g", 2)
    monkeypatch.delenv("SUPERVISION_SPARK_MASTER")
    assert resources.spark_settings().master == "local[2]"


_SPEC = SourceSpec(
    scenario="demo",
    agency="test agency",
    table="records",
    description="rows for the row-group writer",
    keys=("record_id",),
    columns=(
        ColumnSpec("record_id", "string", "record number"),
        ColumnSpec("district", "string", "district, categorical in the frame"),
        ColumnSpec("amount", "float64", "amount", unit="yuan"),
        ColumnSpec("count", "int64", "a count", nullable=True),
        ColumnSpec("seen_on", "date", "business date"),
        ColumnSpec("flag", "bool", "a flag"),
    ),
)


def _records(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    count = pd.Series(rng.integers(0, 50, n), dtype="Int64")
    count[rng.random(n) < 0.1] = pd.NA
    return pd.DataFrame(
        {
            "record_id": [f"R{i:07d}" for i in range(n)],
            "district": pd.Categorical.from_codes(
                rng.integers(0, 3, n), ["Dongcheng", "Xicheng", "Haidian"]
            ),
            "amount": rng.normal(1000, 300, n).round(2),
            "count": count,
            "seen_on": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D"),
            "flag": rng.random(n) < 0.3,
        }
    )


@pytest.mark.parametrize("n", [0, 999, 2_500])
def test_the_row_group_writer_writes_the_bytes_of_the_whole_table_writer(tmp_path, n):
    options = {**PARQUET_OPTIONS, "row_group_size": 1_000}
    frame = _records(n)
    whole, grouped = tmp_path / "whole.parquet", tmp_path / "grouped.parquet"
    pq.write_table(to_arrow_table(frame, _SPEC), whole, **options)
    assert write_source(frame, _SPEC, grouped, options) == n
    assert grouped.read_bytes() == whole.read_bytes()
    meta = pq.ParquetFile(grouped).metadata
    assert meta.num_rows == n
    assert meta.num_row_groups == max(1, -(-n // 1_000))


def test_the_row_group_writer_refuses_an_undeclared_column_naming_it(tmp_path):
    frame = _records(10).assign(extra=1)
    with pytest.raises(PoolTypeError, match=r"demo\.records: undeclared columns \['extra'\]"):
        write_source(frame, _SPEC, tmp_path / "bad.parquet")


def test_unique_keys_are_settled_in_arrow_and_repeats_still_name_every_row():
    from pool.load import _duplicates

    clean = pa.chunked_array([["a", "b", None], ["c", None]])
    assert _duplicates("k", clean).empty  # nulls do not repeat a value
    repeated = pa.chunked_array([["a", "b", None], ["c", "a", None, "b"]])
    found = _duplicates("k", repeated)
    assert found["index"].tolist() == [0.0, 1.0, 4.0, 6.0]
    assert found["failure_case"].tolist() == ["a", "b", "a", "b"]
    assert set(found["check"]) == {"field_uniqueness"} and set(found["column"]) == {"k"}
