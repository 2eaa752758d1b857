"""The importer: an office's exports in, a validated pool out, or a clear refusal and nothing
written. Each refusal names the source, the file, the column and the row, and leaves the
previous pool as it was."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from features import registry
from features.build import build_features
from features.model import SupervisionModel
from features.spec import FeatureSpec
from models.bid_rigging import procurement
from pool.importer import ImportFailure, import_model, verify_import
from pool.origins import FileOrigin
from pool.spec import ColumnSpec, SourceSpec

HEADERS = {
    "许可证号": "permit_id",
    "企业名称": "company",
    "所属区": "district",
    "发证日期": "issued_on",
    "面积(平方米)": "area",
    "是否过期": "expired",
}
ROWS = [
    ["P1", "甲公司", "Haidian", "2024-01-03", "1,200", "是"],
    ["P2", "乙公司", "Daxing", "2024/02/10", "300.5", "否"],
    ["P3", "甲公司", "Haidian", "20240305", "88", "否"],
]


def permits_model(folder: Path, **origin: object) -> SupervisionModel:
    spec = SourceSpec(
        scenario="permits_toy",
        agency="housing",
        table="permits",
        description="permits",
        keys=("permit_id",),
        date_column="issued_on",
        origin=FileOrigin(
            **{
                "path": str(folder / "许可证.csv"),
                "encoding": "gb18030",
                "columns": HEADERS,
                **origin,
            }
        ),
        columns=(
            ColumnSpec("permit_id", "string", "permit", checks={"unique": True}),
            ColumnSpec("company", "string", "holder"),
            ColumnSpec("district", "string", "district"),
            ColumnSpec("issued_on", "date", "issued"),
            ColumnSpec("area", "float64", "area", unit="m2", checks={"min": 0}),
            ColumnSpec("expired", "bool", "expired"),
        ),
    )

    def build(sources, ctx):
        p = sources["permits"]
        per = p.group_by(["company", "district"]).aggregate(n=p.count())
        return per.select(
            entity_id=per.company, district=per.district, permits=per.n.cast("float64")
        )

    return SupervisionModel(
        name="permits_toy",
        entity="company",
        key_column="company",
        sources=(spec,),
        build=build,
        features=(FeatureSpec("permits", "permits", "n", "{value:.0f}"),),
    )


def write_csv(
    folder: Path, rows: list[list[str]], headers: list[str] | None = None, encoding: str = "gb18030"
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows, columns=headers or list(HEADERS))
    path = folder / "许可证.csv"
    frame.to_csv(path, index=False, encoding=encoding)
    return path


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def imported(tmp_path):
    folder, root = tmp_path / "exports", tmp_path / "data"
    write_csv(folder, ROWS)
    model = permits_model(folder)
    report = import_model(model, root)
    return folder, root, model, report


def test_import_reads_gb18030_chinese_headers_and_reports(imported) -> None:
    _, root, model, report = imported
    (source,) = report.sources
    assert source.rows_read == 3 and source.rows_written == 3 and source.encoding == "gb18030"
    assert any("thousands separators" in c for c in source.coercions)
    stored = pd.read_parquet(root / "pool" / "permits_toy" / "permits.parquet")
    assert stored["area"].tolist() == [1200.0, 300.5, 88.0]
    assert stored["expired"].tolist() == [True, False, False]
    assert [str(d.date()) for d in pd.to_datetime(stored["issued_on"])] == [
        "2024-01-03",
        "2024-02-10",
        "2024-03-05",
    ]
    assert (root / "pool" / "permits_toy" / "import_report.json").is_file()
    verify_import(root, model)
    registry.register(model, replace=True)
    try:
        table = build_features("permits_toy", "2024-02-28", root)
        assert table.frame.set_index("entity_id")["permits"].to_dict() == {
            "甲公司": 1.0,
            "乙公司": 1.0,
        }
    finally:
        registry.unregister("permits_toy")


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing file", "no file matches"),
        ("wrong encoding", "is not valid gb18030: byte"),
        ("unexpected column", "unexpected column(s) ['备注']"),
        ("missing column", "declared column(s) ['expired'] are missing"),
        (
            "mixed types",
            "column 'area' (declared float64): 1 cell(s) are not float64: row 3: '约三百'",
        ),
        ("bad date", "column 'issued_on' (declared date): 1 cell(s) are not date: row 2: '明天'"),
        ("rule broken", "column 'area' rule min 0: 1 row(s) break it (rows ['5']"),
        ("duplicate key", "column 'permit_id' rule unique: 2 row(s) break it"),
    ],
)
def test_each_refusal_names_the_fault_and_writes_nothing(imported, case, message) -> None:
    folder, root, model, _ = imported
    before = digests(root)
    rows = [list(r) for r in ROWS]
    headers = list(HEADERS)
    encoding = "gb18030"
    if case == "missing file":
        (folder / "许可证.csv").unlink()
    elif case == "wrong encoding":
        encoding = "utf-8"
    elif case == "unexpected column":
        headers.append("备注")
        rows = [r + ["x"] for r in rows]
    elif case == "missing column":
        headers, rows = headers[:-1], [r[:-1] for r in rows]
    elif case == "mixed types":
        rows[1][4] = "约三百"
    elif case == "bad date":
        rows[0][3] = "明天"
    elif case == "rule broken":
        rows.append(["P4", "丙公司", "Daxing", "2024-03-01", "-5", "否"])
    elif case == "duplicate key":
        rows[2][0] = "P1"
    if case != "missing file":
        write_csv(folder, rows, headers, encoding)
    with pytest.raises(ImportFailure) as err:
        import_model(model, root)
    text = str(err.value)
    assert "permits_toy.permits" in text
    assert message in text, text
    assert digests(root) == before
    assert not list(root.glob(".import-*"))


def test_refuse_rows_lists_them_in_the_report(tmp_path) -> None:
    folder, root = tmp_path / "exports", tmp_path / "data"
    write_csv(folder, ROWS + [["P4", "丙公司", "Daxing", "2024-03-01", "-5", "否"]])
    report = import_model(permits_model(folder, refuse_rows=True), root)
    (source,) = report.sources
    assert source.rows_written == 3
    assert source.refused == [
        {"column": "area", "rule": "min 0", "n_rows": 1, "rows": ["5"], "examples": [-5.0]}
    ]


def test_excel_source(tmp_path) -> None:
    folder, root = tmp_path / "exports", tmp_path / "data"
    folder.mkdir()
    frame = pd.DataFrame(ROWS, columns=list(HEADERS))
    frame["发证日期"] = pd.to_datetime(["2024-01-03", "2024-02-10", "2024-03-05"])
    frame.to_excel(folder / "许可证.xlsx", index=False)
    model = permits_model(folder, path=str(folder / "许可证.xlsx"), encoding="utf-8")
    report = import_model(model, root)
    assert report.sources[0].rows_written == 3 and report.sources[0].encoding == ""


def _countries_table(root: Path, files: dict[str, str]) -> pd.DataFrame:
    bids = procurement.BIDS
    folder = procurement.procurement_dir()
    origin = replace(
        bids.origin,
        paths=tuple(str(folder / name) for name in files.values()),
        transform=lambda raw, path: procurement.harmonise(
            _numeric(raw), procurement.country_of(path, files)
        ),
    )
    model = replace(
        registry.get("bid_rigging"),
        name="bids_subset",
        sources=(replace(bids, scenario="bids_subset", origin=origin),),
    )
    import_model(model, root)
    registry.register(model, replace=True)
    try:
        return build_features("bids_subset", None, root).frame
    finally:
        registry.unregister("bids_subset")


def _numeric(raw: pd.DataFrame) -> pd.DataFrame:
    out = raw.replace("", None)
    for column in ("Tender", "Bid_value", "Winner", "Collusive_competitor", "Date", "Competitors"):
        if column in out.columns:
            out[column] = pd.to_numeric(out[column])
    return out


@pytest.mark.slow
def test_bid_rigging_countries_are_declared_sources(tmp_path) -> None:
    """Removing one country and adding it back changes nothing for the others."""
    small = {c: procurement.FILES[c] for c in ("america", "ch_ticino", "italy")}
    both = _countries_table(tmp_path / "a", small)
    fewer = _countries_table(tmp_path / "b", {c: small[c] for c in ("america", "ch_ticino")})
    back = _countries_table(tmp_path / "c", small)
    keep = both[both["district"] != "italy"].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        keep.drop(columns="feature_set_hash"), fewer.drop(columns="feature_set_hash")
    )
    pd.testing.assert_frame_equal(both, back)


def test_a_country_file_with_another_layout_is_refused(tmp_path) -> None:
    folder = tmp_path / "procurement"
    folder.mkdir()
    pd.DataFrame({"Tender": [1, 1], "Bid_value": [10.0, 11.0], "Winner": [1, 0]}).to_csv(
        folder / procurement.FILES["italy"], index=False
    )
    bids = procurement.BIDS
    origin = replace(bids.origin, paths=(str(folder / procurement.FILES["italy"]),))
    model = replace(
        registry.get("bid_rigging"),
        name="bids_bad",
        sources=(replace(bids, scenario="bids_bad", origin=origin),),
    )
    with pytest.raises(
        ImportFailure,
        match=r"DB_Collusion_Italy_processed\.csv lacks column\(s\) "
        r"\['Collusive_competitor'",
    ):
        import_model(model, tmp_path / "data")
    assert not (tmp_path / "data" / "pool" / "bids_bad").exists()
    with pytest.raises(procurement.ProcurementDataError, match="no declared country 'peru'"):
        procurement.load_bids(countries=["peru"])


def test_a_relative_path_of_an_in_process_model_is_refused(tmp_path) -> None:
    """No folder to read it from: refused, not read from wherever the process happens to run."""
    model = permits_model(tmp_path, path="许可证.csv")
    with pytest.raises(
        ImportFailure, match="relative path '许可证.csv', but the model was declared in-process"
    ):
        import_model(model, tmp_path / "data")
    assert not (tmp_path / "data" / "pool").exists()
