"""Leads carry the amount at stake and the probability's interval (migration 0002), sortable."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from leads_fixtures import make_run, snapshot
from sqlalchemy import text

from leads import db
from leads.errors import InvalidValue
from leads.runs import LeadInput, LeadRun
from leads.store import LeadStore


def _run(run_id: str = "r1") -> LeadRun:
    base = make_run(run_id, ["A", "B", "C", "D"], scores=[0.9, 0.8, 0.7, 0.6])
    figures = {"A": (0.2, 1e6), "B": (0.6, 5e5), "C": (0.9, None), "D": (0.3, 4e6)}
    leads = [
        replace(
            x,
            probability=figures[x.entity_id][0],
            amount=figures[x.entity_id][1],
            amount_unit="yuan",
            probability_low=figures[x.entity_id][0] / 2,
            probability_high=min(1.0, figures[x.entity_id][0] * 1.5),
        )
        for x in base.leads
    ]
    return replace(base, leads=leads)


def test_amount_unit_and_interval_are_stored_and_read_back(store: LeadStore) -> None:
    ids = store.upsert_leads(_run()).lead_ids
    a = store.get(ids[0])
    assert (a.amount, a.amount_unit) == (1e6, "yuan")
    assert (a.probability_low, a.probability, a.probability_high) == pytest.approx((0.1, 0.2, 0.3))
    c = store.get(ids[2])
    assert c.amount is None and c.amount_unit == "yuan"  # declared, not estimable for C


def test_a_lead_of_a_model_without_an_estimate_has_no_amount_and_no_unit(store: LeadStore) -> None:
    lead = store.get(store.upsert_leads(make_run("r0", ["X"])).lead_ids[0])
    assert lead.amount is None and lead.amount_unit is None


def test_rescoring_updates_the_amount(store: LeadStore) -> None:
    first = store.upsert_leads(_run("r1")).lead_ids[0]
    later = _run("r2")
    later = replace(later, leads=[replace(later.leads[0], amount=2e6), *later.leads[1:]])
    assert store.upsert_leads(later).lead_ids[0] == first
    assert store.get(first).amount == 2e6


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("score", ["A", "B", "C", "D"]),
        ("amount", ["D", "A", "B", "C"]),  # C has no amount: last
        ("expected_value", ["D", "B", "A", "C"]),  # 1.2M, 300k, 200k, none
        ("probability", ["C", "B", "D", "A"]),
    ],
)
def test_leads_sort_by_amount_and_expected_value(
    store: LeadStore, sort: str, order: list[str]
) -> None:
    store.upsert_leads(_run())
    assert [v.entity_id for v in store.list_leads(sort=sort)] == order


def test_unknown_sort_is_refused_naming_the_options(store: LeadStore) -> None:
    with pytest.raises(InvalidValue, match="expected_value"):
        store.list_leads(sort="value")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": -5.0}, "amount"),
        ({"amount": float("inf")}, "amount"),
        ({"amount_unit": None}, "amount_unit"),
        ({"probability_low": 0.5}, "probability_low"),  # above the probability 0.2
        ({"probability_high": None}, "probability_low"),  # one bound alone
    ],
)
def test_bad_amounts_and_intervals_are_refused_whole(
    store: LeadStore, change: dict, field: str
) -> None:
    run = _run()
    run = replace(run, leads=[*run.leads[:3], replace(run.leads[0], entity_id="E", **change)])
    before = snapshot(store.engine)
    with pytest.raises(InvalidValue, match=rf"leads\[3\]\.{field}"):
        store.upsert_leads(run)
    assert snapshot(store.engine) == before


def test_from_frame_reads_amounts_and_turns_nan_into_none() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "entity_id": ["A", "B"],
            "district": ["Haidian"] * 2,
            "score": [0.9, 0.8],
            "rank": [1, 2],
            "probability": [0.4, 0.3],
            "probability_low": [0.2, 0.1],
            "probability_high": [0.6, 0.5],
            "amount": [1e5, float("nan")],
            "amount_unit": ["yuan", "yuan"],
        }
    )
    run = LeadRun.from_frame(
        frame, run_id="r", scenario="s", model_name="s", model_version="1", as_of=date(2026, 1, 1)
    )
    assert run.leads[0] == LeadInput("A", "Haidian", 0.9, 1, 0.4, [], 1e5, "yuan", 0.2, 0.6)
    assert run.leads[1].amount is None and run.leads[1].amount_unit == "yuan"


def test_upgrading_a_0001_store_keeps_its_leads(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db.upgrade(url, "0001")
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO leads (scenario, entity_id, district, model_name, model_version, "
                "run_id, score, probability, rank, reasons, as_of, created_at, updated_at, status, "
                "status_changed_at) VALUES ('fuel_tax', 'A', 'Haidian', 'fuel_tax', '1', 'r', 0.5, "
                "NULL, 1, '[]', '2026-01-01', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 'new', "
                "'2026-01-01 00:00:00')"
            )
        )
    db.upgrade(url)
    assert db.current_revision(engine) == db.HEAD_REVISION == "0003"
    lead = LeadStore(engine).list_leads()[0]
    assert lead.entity_id == "A" and lead.amount is None and lead.probability_low is None
    engine.dispose()


def test_stakes_by_version_sums_what_the_cases_recovered_and_put_at_stake(store: LeadStore) -> None:
    from leads_fixtures import advance_to

    from leads.stats import stakes_by_version

    ids = store.upsert_leads(_run()).lead_ids  # A 1M, B 500k, C none, D 4M
    for lead_id, outcome, recovered in (
        (ids[0], "case_filed", 8e5),
        (ids[1], "no_case", 0.0),
        (ids[2], "case_filed", 1e4),
        (ids[3], "case_filed", 0.0),
    ):
        advance_to(store, lead_id, "verifying")
        store.record_outcome(lead_id, outcome=outcome, amount_recovered=recovered, actor="unit")
    (row,) = stakes_by_version(store.engine, "fuel_tax")
    assert (row.model_version, row.cases) == ("1", 3)
    assert row.amount_recovered == pytest.approx(8e5 + 1e4)
    assert row.amount_at_stake == pytest.approx(1e6 + 4e6) and row.amount_unit == "yuan"
