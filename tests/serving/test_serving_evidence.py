"""The source records shown behind a lead (``serving.evidence``): rows naming the entity by any
spelling of its code, and, for a company, rows that name it only by name (waybills, cameras)."""

from __future__ import annotations

import pandas as pd

from pool.keys import uscc_check_char
from pool.load import load_pool
from pool.names import normalise_name
from serving.evidence import EvidenceIndex, Memo, pool_tables

BODY = "91110108MA01ABCD2"
CODE = BODY + uscc_check_char(BODY)
OTHER_BODY = "91110105MA09XYKW3"
OTHER = OTHER_BODY + uscc_check_char(OTHER_BODY)


def _tables() -> dict[str, pd.DataFrame]:
    return {
        "registry": pd.DataFrame(
            {
                "credit_code": [CODE, OTHER],
                "name": ["北京顺达加油站有限公司", "北京长城石化有限公司"],
            }
        ),
        "filings": pd.DataFrame(
            {
                "taxpayer_code": [CODE.lower(), f" {CODE}", OTHER],
                "taxpayer_name": ["顺达加油站", "顺达加油站", "长城石化"],
                "period": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-02-01"]),
            }
        ),
        "waybills": pd.DataFrame(
            {
                "consignee_name": [
                    "北京顺达加油站（有限公司）",
                    "北京长城石化",
                    "北京顺达加油站有限公司",
                ],
                "litres": [20000.0, 25000.0, 18000.0],
                "shipped_at": pd.to_datetime(["2024-01-05", "2024-01-06", "2024-02-05"]),
            }
        ),
        "people": pd.DataFrame(
            {"holder_id": ["110101199001011234"], "holder_name": ["北京顺达加油站有限公司"]}
        ),
    }


def _index(tables: dict[str, pd.DataFrame]) -> EvidenceIndex:
    return EvidenceIndex(lambda scenario: tables, lambda: 1.0)


def test_code_matches_in_any_spelling_and_newest_first():
    found = _index(_tables()).records("fuel_tax", CODE)
    assert found["registry"]["count"] == 1 and found["registry"]["by_name"] == 0
    filings = found["filings"]
    assert filings["count"] == 2 and [r["period"][:10] for r in filings["rows"]] == [
        "2024-03-01",
        "2024-01-01",
    ]


def test_a_company_is_also_found_by_name_where_an_agency_records_no_code():
    found = _index(_tables()).records("fuel_tax", CODE)
    waybills = found["waybills"]
    assert waybills["count"] == 2 and waybills["by_name"] == 2
    assert [r["litres"] for r in waybills["rows"]] == [18000.0, 20000.0]  # newest first
    # an entity that is a person (an ID number) is never matched by name: names are shared
    people = _index(_tables()).records("fake_certificates", "110101199001011234")
    assert people["people"]["by_name"] == 0 and "waybills" not in people


def test_an_unknown_entity_has_no_evidence():
    assert _index(_tables()).records("fuel_tax", "91110000MA000000X0") == {}


def test_a_station_on_the_simulated_pool_shows_its_waybills_and_camera_counts(fuel_root):  # noqa: F811
    index = EvidenceIndex(pool_tables(fuel_root), lambda: 1.0)
    tables = load_pool(fuel_root, "fuel_tax")
    registry = tables["company_registry"]
    filmed = set(
        tables["traffic_cameras"]["site_name"].map(lambda v: normalise_name(v, drop_branch=True))
    )
    stations = registry[registry["nozzles"].notna()]
    station = stations[stations["name"].map(normalise_name).isin(filmed)].iloc[0]
    found = index.records("fuel_tax", station["credit_code"])
    assert {
        "company_registry",
        "tax_filings",
        "purchase_invoices",
        "tanker_waybills",
        "traffic_cameras",
    } <= set(found)
    waybills = found["tanker_waybills"]
    assert waybills["by_name"] == waybills["count"] >= 10
    shown = {normalise_name(r["consignee_name"], drop_branch=True) for r in waybills["rows"]}
    assert normalise_name(station["name"]) in shown
    assert found["traffic_cameras"]["count"] >= 12  # a row a month


def test_rows_are_converted_a_column_at_a_time_exactly_as_value_by_value() -> None:
    """The column-wise conversion of a lead's source rows equals ``_plain`` of every value, for
    every kind of column an agency table holds (missing values included)."""
    import numpy as np
    import pandas as pd

    from serving.evidence import IndexedTable, _plain

    n = 40
    rng = np.random.default_rng(3)
    when = pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s")
    nanos = pd.Series(when + pd.to_timedelta(rng.integers(0, 999, n), unit="ns"))
    table = pd.DataFrame(
        {
            "code": pd.array(
                [f"91{i:016d}" if i % 7 else None for i in range(n)], "string[pyarrow]"
            ),
            "text": pd.Series([f"名{i}" if i % 5 else None for i in range(n)], dtype="str"),
            "amount": np.where(np.arange(n) % 6 == 0, np.nan, rng.normal(size=n)),
            "count": rng.integers(0, 9, n),
            "flag": rng.integers(0, 2, n).astype(bool),
            "nullable": pd.array([i if i % 4 else None for i in range(n)], dtype="Int64"),
            "day": pd.Series(when).astype("datetime64[us]").where(np.arange(n) % 9 != 0),
            "stamp_ns": nanos,  # sub-microsecond: the value-by-value path
            "aware": pd.Series(when).dt.tz_localize("Asia/Shanghai"),
            "mixed": pd.Series([1, "a", None, 2.5] * (n // 4), dtype=object),
            "kind": pd.Categorical(rng.choice(["a", "b"], n)),
        }
    )
    indexed = IndexedTable.of(table)
    for positions in (rng.permutation(n)[:25], np.array([3]), np.arange(n)[::-1]):
        expected = [
            {k: _plain(v) for k, v in row.items()}
            for row in table.iloc[positions].to_dict("records")
        ]
        assert indexed.rows(positions) == expected
    assert indexed.rows(np.empty(0, dtype="int64")) == []


def test_records_and_their_views_are_kept_until_the_pool_changes() -> None:
    stamp = [1.0]
    tables = _tables()
    index = EvidenceIndex(lambda scenario: tables, lambda: stamp[0])
    first = index.records("fuel_tax", CODE)
    assert index.records("fuel_tax", CODE) is first  # kept, not searched again
    made: list[dict] = []

    def view(records: dict) -> dict:
        made.append(records)
        return {name: found["count"] for name, found in records.items()}

    counts = {name: found["count"] for name, found in first.items()}
    assert counts["registry"] == 1 and counts["filings"] == 2
    assert index.view("fuel_tax", CODE, "counts", view) == counts
    assert index.view("fuel_tax", CODE, "counts", view) == counts
    assert made == [first]  # made once, from the kept records
    stamp[0] = 2.0  # a new pool version: a new index with nothing kept
    assert index.records("fuel_tax", CODE) is not first
    index.view("fuel_tax", CODE, "counts", view)
    assert len(made) == 2


def test_the_memo_keeps_only_the_most_recent_entries() -> None:
    memo = Memo(2)
    calls: list[str] = []
    for key in ("a", "b", "a", "c", "a", "b"):
        memo.get(key, lambda key=key: calls.append(key) or key.upper())
    assert calls == ["a", "b", "c", "b"]  # "b" was the least recent when "c" came
