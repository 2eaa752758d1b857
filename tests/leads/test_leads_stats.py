"""Conversion figures against hand-computed values, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from leads_fixtures import ManualClock, advance_to, make_run

from evaluation.metrics import wilson_interval
from leads.stats import conversion_by_version, conversion_table
from leads.store import LeadStore


@pytest.mark.parametrize(
    ("cases", "trials", "lower", "upper"),
    [  # 95% Wilson intervals, worked by hand from the closed form (z = 1.959964)
        (3, 5, 0.230724, 0.882379),
        (0, 10, 0.0, 0.277533),
        (10, 10, 0.722467, 1.0),
        (34, 100, 0.254615, 0.437222),
    ],
)
def test_wilson_interval_known_values(cases: int, trials: int, lower: float, upper: float) -> None:
    lo, hi = wilson_interval(cases, trials)
    assert lo == pytest.approx(lower, abs=2e-6) and hi == pytest.approx(upper, abs=2e-6)


def test_wilson_interval_edges() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="successes <= trials"):
        wilson_interval(4, 3)


def _close(store: LeadStore, lead_id: int, outcome: str, amount: float = 0.0) -> None:
    advance_to(store, lead_id, "verifying")
    store.record_outcome(lead_id, outcome=outcome, actor="Wang", amount_recovered=amount)


def _world(store: LeadStore, clock: ManualClock) -> list[int]:
    """v1 issues 6 leads (A..F), v2 re-flags E and F and issues G, H.

    Week 10 (Mon 2 March 2026): A case (Haidian), B no_case (Haidian), C invalid (Chaoyang).
    Week 11: D case (Chaoyang) recorded Sunday 8 March 17:00 UTC = Monday 01:00 in Beijing;
    E case (v2 by then, Haidian), G no_case (v2, Haidian). F and H stay open.
    """
    districts = ["Haidian", "Haidian", "Chaoyang", "Chaoyang", "Haidian", "Haidian"]
    v1 = store.upsert_leads(make_run("r1", list("ABCDEF"), district=districts)).lead_ids
    _close(store, v1[0], "case_filed", 1000.0)
    _close(store, v1[1], "no_case")
    _close(store, v1[2], "invalid")
    clock.moment = datetime(2026, 3, 8, 17, 0, tzinfo=UTC)
    _close(store, v1[3], "case_filed", 500.0)
    v2 = store.upsert_leads(make_run("r2", list("EFGH"), version="2", district="Haidian")).lead_ids
    _close(store, v2[0], "case_filed", 250.0)
    _close(store, v2[2], "no_case")
    return v1 + v2


def test_conversion_by_version_hand_computed(store: LeadStore, clock: ManualClock) -> None:
    _world(store, clock)
    v1, v2 = conversion_by_version(store.engine, "fuel_tax")
    # v1: issued A-F = 6; final credited to v1: A case, B no_case, C invalid, D case -> 2/4
    assert (v1.model_version, v1.issued, v1.verified, v1.cases, v1.no_case, v1.invalid) == (
        "1",
        6,
        4,
        2,
        1,
        1,
    )
    assert v1.conversion == pytest.approx(0.5) and v1.amount_recovered == pytest.approx(1500.0)
    assert (v1.lower, v1.upper) == pytest.approx(wilson_interval(2, 4))
    # v2: issued E, F, G, H = 4; E case (credited to v2, which scored it last), G no_case -> 1/2
    assert (v2.model_version, v2.issued, v2.verified, v2.cases) == ("2", 4, 2, 1)
    assert v2.conversion == pytest.approx(0.5)
    assert store.conversion_by_version("fuel_tax") == [v1, v2]
    assert conversion_by_version(store.engine, "no_such_scenario") == []


def test_conversion_by_district_and_week(store: LeadStore, clock: ManualClock) -> None:
    _world(store, clock)
    by_district = conversion_table(store.engine, ["district"]).set_index("district")
    # Haidian: A case, B no_case, E case, G no_case -> 2/4; Chaoyang: C invalid, D case -> 1/2
    assert by_district.loc["Haidian", ["verified", "cases"]].tolist() == [4, 2]
    assert by_district.loc["Chaoyang", ["verified", "cases", "invalid"]].tolist() == [2, 1, 1]
    assert by_district.loc["Haidian", "issued"] == 6  # A, B, E, F, G, H (E, F counted once)
    by_week = conversion_table(store.engine, ["week"]).set_index("week")
    assert by_week.loc["2026-W10", ["verified", "cases", "issued"]].tolist() == [
        3,
        1,
        6,
    ]  # A-F issued
    assert by_week.loc["2026-W11", ["verified", "cases", "issued"]].tolist() == [3, 2, 2]  # G, H
    assert by_week.loc["2026-W11", "conversion"] == pytest.approx(2 / 3)
    everything = conversion_table(store.engine, ["scenario"]).iloc[0]
    assert (everything.verified, everything.cases, everything.issued) == (6, 3, 8)
    assert (everything.lower, everything.upper) == pytest.approx(wilson_interval(3, 6))


def test_conversion_table_refuses_unknown_dimension(store: LeadStore) -> None:
    with pytest.raises(ValueError, match="choose from"):
        conversion_table(store.engine, ["colour"])
    empty = conversion_table(store.engine, ["scenario", "model_version"])
    assert empty.empty
