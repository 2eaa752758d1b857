"""The pool framework: determinism, catalog and manifest, validation errors, atomic build,
defect injectors and the verification-history simulator."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.errors
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pool_fixtures import built_pool

import pool.build as build_mod
from pool import defects, discovery
from pool.discovery import pool_sources as sources
from pool.history import HISTORY_COLUMNS, HistoryParams, verification_history
from pool.keys import is_valid_id, is_valid_uscc, normalise_code, uscc_check_char
from pool.load import PoolFileError, PoolValidationError, load_pool, load_source, load_truth
from pool.names import normalise_name
from pool.schemas import SpecError, source_schema
from pool.spec import ColumnSpec, SimConfig, SourceSpec

SMALL = {"scale": 0.05, "months": 12}


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_different_seed_different(tmp_path_factory):
    first = built_pool(tmp_path_factory, ("fuel_tax",), seed=7, **SMALL)
    again = tmp_path_factory.mktemp("again")
    build_mod.build(SimConfig(seed=7, **SMALL), again, ["fuel_tax"])
    other = built_pool(tmp_path_factory, ("fuel_tax",), seed=8, **SMALL)
    assert _digests(first) == _digests(again)
    a, b = _digests(first), _digests(other)
    tables = [k for k in a if k.startswith("pool/fuel_tax/")]
    assert tables and all(a[k] != b[k] for k in tables)


def test_manifest_and_catalog_describe_every_file(fuel_root):  # noqa: F811
    manifest = json.loads((fuel_root / "pool" / "manifest.json").read_text())
    assert manifest["config"]["seed"] == 42 and manifest["scenarios"] == ["fuel_tax"]
    for rel, meta in manifest["files"].items():
        data = (fuel_root / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == meta["sha256"], rel
    catalog = json.loads((fuel_root / "pool" / "catalog.json").read_text())
    (scenario,) = catalog["scenarios"]
    tables = {s["table"] for s in scenario["sources"]}
    assert tables == {s.table for s in sources("fuel_tax")} | {"verification_history"}
    for source in scenario["sources"]:
        assert source["agency"] and source["keys"] and (fuel_root / source["path"]).is_file()
        for column in source["columns"]:
            assert column["meaning"] and column["type"] in {
                "string",
                "int64",
                "float64",
                "bool",
                "date",
                "datetime",
            }
    money = [c for s in scenario["sources"] for c in s["columns"] if c["name"].endswith("_yuan")]
    assert money and all(c["unit"].startswith("yuan") for c in money)
    assert not list(fuel_root.glob(".build-*")) and not (fuel_root / "pool" / "truth").exists()


def test_every_source_passes_its_schema(fuel, fuel_root):  # noqa: F811
    assert set(fuel) == {s.table for s in sources("fuel_tax")} | {"verification_history"}
    for spec in sources("fuel_tax"):
        frame = fuel[spec.table]
        assert list(frame.columns) == [c.name for c in spec.columns]
        assert len(frame) > 0
    history = fuel["verification_history"]
    assert list(history.columns) == list(HISTORY_COLUMNS)
    truth = load_truth(fuel_root, "fuel_tax")
    assert truth["entity_id"].is_unique and truth["is_fraud"].dtype == bool
    assert set(truth["entity_id"]) == set(
        fuel["company_registry"].query("business_scope == '成品油零售'")["credit_code"]
    )


@pytest.fixture()
def pool_copy(fuel_root, tmp_path) -> Path:  # noqa: F811
    """A private copy of the fuel pool to corrupt."""
    root = tmp_path / "data"
    shutil.copytree(fuel_root, root)
    return root


def _rewrite(root: Path, table: str, change) -> None:
    path = root / "pool" / "fuel_tax" / f"{table}.parquet"
    frame = pq.read_table(path).to_pandas()
    pq.write_table(pa.Table.from_pandas(change(frame), preserve_index=False), path)


def test_truncated_file_gives_clear_error(pool_copy):
    path = pool_copy / "pool" / "fuel_tax" / "tax_filings.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(
        PoolFileError, match=r"fuel_tax\.tax_filings: file .*tax_filings\.parquet is unreadable"
    ):
        load_pool(pool_copy, "fuel_tax")


def test_manifest_check_catches_a_file_changed_after_the_build(pool_copy):
    assert load_pool(pool_copy, "fuel_tax", check_manifest=True)
    _rewrite(
        pool_copy, "traffic_cameras", lambda f: f.assign(vehicles_entered=f["vehicles_entered"] + 1)
    )
    load_source(pool_copy, "fuel_tax", "traffic_cameras")  # still fits its schema
    with pytest.raises(
        PoolFileError, match=r"pool/fuel_tax/traffic_cameras\.parquet: sha256 differs"
    ):
        load_pool(pool_copy, "fuel_tax", check_manifest=True)


def test_missing_file_gives_clear_error(pool_copy):
    (pool_copy / "pool" / "fuel_tax" / "traffic_cameras.parquet").unlink()
    with pytest.raises(PoolFileError, match=r"fuel_tax\.traffic_cameras: file .* is missing"):
        load_source(pool_copy, "fuel_tax", "traffic_cameras")


def test_wrong_column_type_names_source_column_and_rule(pool_copy):
    _rewrite(
        pool_copy,
        "tax_filings",
        lambda f: f.assign(declared_diesel_litres=f["declared_diesel_litres"].astype(str)),
    )
    with pytest.raises(PoolValidationError) as err:
        load_pool(pool_copy, "fuel_tax")
    message = str(err.value)
    assert message.startswith("fuel_tax.tax_filings:")
    assert "column 'declared_diesel_litres', rule dtype('float64')" in message


def test_out_of_range_values_are_counted_per_rule(pool_copy):
    def spoil(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame.loc[[0, 5, 9], "litres"] = -10.0
        frame.loc[[1, 2], "consignee_district"] = "Gotham"
        frame.loc[3, "waybill_no"] = frame.loc[4, "waybill_no"]
        return frame

    _rewrite(pool_copy, "tanker_waybills", spoil)
    with pytest.raises(PoolValidationError) as err:
        load_source(pool_copy, "fuel_tax", "tanker_waybills")
    failures = err.value.failures.set_index(["column", "rule"])["n_rows"]
    litres = failures[failures.index.get_level_values("column") == "litres"]
    assert litres.sum() == 3
    assert failures[failures.index.get_level_values("column") == "consignee_district"].sum() == 2
    assert failures[failures.index.get_level_values("column") == "waybill_no"].sum() == 2
    assert "fuel_tax.tanker_waybills" in str(err.value) and "3 rows break it" in str(err.value)


def test_undeclared_and_missing_columns_are_reported(pool_copy):
    _rewrite(pool_copy, "traffic_cameras", lambda f: f.drop(columns="district").assign(extra=1))
    with pytest.raises(
        PoolValidationError, match=r"column_in_dataframe.*district|column_in_schema.*extra"
    ):
        load_source(pool_copy, "fuel_tax", "traffic_cameras")


def test_failed_build_leaves_previous_pool_untouched(pool_copy, monkeypatch, capsys):
    before = _digests(pool_copy)
    real = build_mod.simulator("fuel_tax")

    def broken(config):
        """The real simulator, with one simulated value out of range."""
        pool = real(config)
        pool.tables["tax_filings"].loc[0, "consumption_tax_yuan"] = -1.0
        return pool

    monkeypatch.setattr(build_mod, "simulator", lambda name: broken)
    code = build_mod.main(
        ["--scale", "0.05", "--months", "6", "--data", str(pool_copy), "--scenarios", "fuel_tax"]
    )
    assert code == 1
    assert "fuel_tax.tax_filings" in capsys.readouterr().err
    assert _digests(pool_copy) == before
    assert not list(pool_copy.glob(".build-*"))


def test_cli_prints_summary_and_rejects_bad_arguments(tmp_path, capsys):
    code = build_mod.main(
        [
            "--scale",
            "0.05",
            "--months",
            "6",
            "--seed",
            "3",
            "--data",
            str(tmp_path),
            "--scenarios",
            "fuel_tax",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "tax_filings" in out and "rows" in out
    assert (tmp_path / "pool" / "manifest.json").is_file() and (
        tmp_path / "truth" / "fuel_tax.parquet"
    ).is_file()
    with pytest.raises(SystemExit):
        build_mod.main(["--drift-month", "40", "--data", str(tmp_path)])
    with pytest.raises(SystemExit):
        build_mod.main(["--scale", "0", "--data", str(tmp_path)])


def test_discovery_lists_simulated_models_and_rejects_unknown(capsys):
    assert discovery.simulated() == ["fake_certificates", "fuel_tax", "mortgage_loans"]
    assert sources("fuel_tax")
    with pytest.raises(discovery.UnknownModelError, match="bank_robbery"):
        discovery.get("bank_robbery")
    assert build_mod.main(["--scenarios", "bid_rigging", "--scale", "0.05"]) == 2
    assert "no simulator" in capsys.readouterr().err


def test_schema_generation_rejects_unknown_checks_and_extra_columns():
    spec = SourceSpec(
        "s", "a", "t", "d", ("k",), (ColumnSpec("k", "int64", "key", checks={"between": 3}),)
    )
    with pytest.raises(SpecError, match=r"s\.t: column 'k' has unknown checks"):
        source_schema(spec)
    ok = SourceSpec(
        "s",
        "a",
        "t",
        "d",
        ("k",),
        (ColumnSpec("k", "int64", "key", checks={"min": 0, "unique": True}),),
    )
    schema = source_schema(ok)
    schema.validate(pd.DataFrame({"k": [1, 2]}))
    with pytest.raises(pandera.errors.SchemaErrors):
        schema.validate(pd.DataFrame({"k": [1, 1]}), lazy=True)


# --- defect injectors ---------------------------------------------------------------------


def _codes(n: int, rng: np.random.Generator) -> list[str]:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    bodies = ["9111010" + "".join(rng.choice(list(alphabet), 10)) for _ in range(n)]
    return [b + uscc_check_char(b) for b in bodies]


def test_code_variants_are_undone_by_normalise_code():
    rng = np.random.default_rng(1)
    codes = _codes(400, rng)
    varied, kinds = defects.vary_codes(codes, 0.5, rng)
    assert set(kinds) - {""} == set(defects.CODE_VARIANTS)
    changed = varied != np.array(codes, dtype=object)
    assert 0.3 < changed.mean() < 0.6
    assert [normalise_code(v) for v in varied] == codes


def test_corrupted_check_characters_fail_validation():
    rng = np.random.default_rng(2)
    codes = _codes(300, rng)
    out, mask = defects.corrupt_check_chars(codes, 0.1, rng)
    assert 10 < mask.sum() < 60
    assert all(not is_valid_uscc(c) for c in out[mask]) and all(
        is_valid_uscc(c) for c in out[~mask]
    )
    ids, id_mask = defects.corrupt_check_chars(
        ["11010519491231002X"] * 50, 0.5, rng, alphabet=defects.ID_CHECK_ALPHABET
    )
    assert all(not is_valid_id(c) for c in ids[id_mask]) and id_mask.any()


def test_name_variants_are_undone_by_normalise_name():
    rng = np.random.default_rng(3)
    names = np.array([f"北京{a}{b}石化有限公司" for a in "金华恒瑞" for b in "达丰盛隆"] * 20)
    varied, kinds = defects.vary_names(names, 0.8, rng)
    assert set(kinds) - {""} == set(defects.NAME_VARIANTS)
    canonical = [normalise_name(n) for n in names]
    assert [normalise_name(v, drop_branch=True) for v in varied] == canonical
    assert (varied != names).mean() > 0.6
    assert normalise_name("北京ＡＢＣ石化（有限公司）") == normalise_name("北京ABC石化有限公司")


def test_duplicates_follow_their_original_and_some_are_amended():
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {
            "key": np.arange(2000),
            "litres": np.full(2000, 1000.0),
            "filed_on": pd.Timestamp("2024-02-10"),
        }
    )
    out = defects.duplicate_rows(
        frame, 0.1, rng, amend_columns=("litres",), filed_column="filed_on"
    )
    extra = len(out) - len(frame)
    assert 120 < extra < 280
    assert out["key"].is_monotonic_increasing
    dup = out[out["key"].duplicated(keep=False)]
    amended = dup.groupby("key")["litres"].nunique() > 1
    assert 0.3 < amended.mean() < 0.7
    later = dup.groupby("key")["filed_on"].agg(lambda s: s.iloc[-1] >= s.iloc[0])
    assert later.all()


def test_filing_dates_mostly_on_time_some_months_late():
    rng = np.random.default_rng(5)
    ends = pd.Series(pd.to_datetime(["2024-01-31"] * 20000))
    delay = (defects.filing_dates(ends, rng) - ends).dt.days
    assert (delay >= 1).all()
    assert 0.90 < (delay <= 15).mean() < 0.95
    assert 0.005 < (delay > 60).mean() < 0.03
    dropped = defects.drop_rows(pd.DataFrame({"x": range(10000)}), 0.05, rng)
    assert 9300 < len(dropped) < 9700


# --- verification history -----------------------------------------------------------------


@pytest.fixture(scope="module")
def small_world() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(6)
    n = 3000
    truth = pd.DataFrame(
        {
            "entity_id": [f"E{i:05d}" for i in range(n)],
            "district": rng.choice(["Chaoyang", "Haidian", "Yanqing"], n),
            "is_fraud": rng.random(n) < 0.1,
            "owed": rng.uniform(1e5, 1e6, n),
        }
    )
    flagged = truth.sample(600, random_state=1)["entity_id"]
    flags = pd.DataFrame(
        {
            "entity_id": np.repeat(flagged.to_numpy(), 2),
            "flagged_on": np.tile(pd.to_datetime(["2023-03-01", "2024-05-01"]), len(flagged)),
            "rule": "crude",
        }
    )
    return truth, flags


def test_history_only_where_someone_looked_within_capacity(small_world):
    truth, flags = small_world
    params = HistoryParams(capacity=5, tip_off_rate=0.01)
    history = verification_history(
        flags,
        truth,
        np.random.default_rng(0),
        start=date(2023, 1, 1),
        end=date(2024, 12, 31),
        prefix="T",
        params=params,
        amount_column="owed",
    )
    assert list(history.columns) == list(HISTORY_COLUMNS) and history["lead_id"].is_unique
    crude = history[history["rule"] == "crude"]
    assert set(crude["entity_id"]) <= set(flags["entity_id"])
    assert (history["rule"] == "tip_off").any()
    per = history.groupby(["district", history["flagged_on"].dt.to_period("M")]).size()
    assert per.max() <= params.capacity
    merged = history.merge(truth, on="entity_id")
    assert (merged.loc[~merged["is_fraud"], "outcome"] != "case_filed").all()
    frauds = merged[merged["is_fraud"] & (merged["outcome"] != "invalid")]
    assert 0.7 <= (frauds["outcome"] == "case_filed").mean() <= 0.97
    assert ((merged["outcome"] == "invalid").mean()) < 0.12
    weeks = (history["verified_on"] - history["flagged_on"]).dt.days / 7
    assert weeks.min() >= params.delay_weeks_min and weeks.max() < params.delay_weeks_max + 1
    cases = merged[merged["outcome"] == "case_filed"]
    assert (cases["amount_recovered"] <= cases["owed"]).all() and (
        cases["amount_recovered"] > 0
    ).all()


def test_history_of_a_lead_does_not_depend_on_later_flags(small_world):
    truth, flags = small_world
    kwargs = dict(start=date(2023, 1, 1), end=date(2024, 12, 31), prefix="T")
    full = verification_history(flags, truth, np.random.default_rng(0), **kwargs)
    early = flags[flags["flagged_on"] < pd.Timestamp("2024-01-01")]
    part = verification_history(early, truth, np.random.default_rng(0), **kwargs)
    cut = pd.Timestamp("2024-01-01")
    pd.testing.assert_frame_equal(
        full[full["flagged_on"] < cut].reset_index(drop=True),
        part[part["flagged_on"] < cut].reset_index(drop=True),
    )
