"""Simulated verification on a tiny hand-made truth: capacity, delays, error rates, determinism,
and the command line."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from leads_fixtures import make_run

from leads import simulate as sim
from leads.store import LeadStore

DISTRICTS = ["Haidian", "Chaoyang", "Miyun"]
ROOT = Path(__file__).resolve().parents[2]


def _truth(root: Path, n: int = 150) -> pd.DataFrame:
    """Entities S000..: every third one a fraud; a written amount for each fraud."""
    rng = np.random.default_rng(7)
    fraud = np.arange(n) % 3 == 0
    truth = pd.DataFrame(
        {
            "entity_id": [f"S{i:03d}" for i in range(n)],
            "district": [DISTRICTS[i % 3] for i in range(n)],
            "is_fraud": fraud,
            "pattern": np.where(fraud, "cash_receipts", "none"),
            "evaded_tax_yuan": np.where(fraud, rng.uniform(1e6, 8e6, n).round(2), 0.0),
        }
    )
    (root / "truth").mkdir(parents=True, exist_ok=True)
    truth.to_parquet(root / "truth" / "fuel_tax.parquet")
    return truth


def _seed_store(url: str, truth: pd.DataFrame) -> LeadStore:
    store = sim.open_simulated(url)
    flagged = truth.iloc[:90]
    entities = [*flagged.entity_id, "GHOST-1"]  # an entity unknown to the truth
    districts = [*flagged.district, "Haidian"]
    store.upsert_leads(make_run("r1", entities, district=districts, as_of=date(2025, 6, 30)))
    store.upsert_leads(make_run("r2", ["L1"], scenario="mortgage_loans", as_of=date(2025, 6, 30)))
    return store


def test_simulation_plays_the_loop_within_capacity(db_url: str, tmp_path: Path) -> None:
    truth = _truth(tmp_path)
    store = _seed_store(db_url, truth)
    params = sim.VerifierParams(capacity=4)
    summary = sim.simulate(store, tmp_path, days=70, seed=3, params=params)
    assert summary.start == date(2025, 7, 1) and summary.skipped_scenarios == ["mortgage_loans"]
    outcomes = store.outcomes("fuel_tax")
    assert len(outcomes) >= 15
    assert {o.actor for o in outcomes} == {sim.VERIFIER}
    fraud = truth.set_index("entity_id")["is_fraud"]
    by_lead = {v.id: v for v in store.list_leads(scenario="fuel_tax")}
    cases = [fraud.get(by_lead[o.lead_id].entity_id) for o in outcomes if o.outcome == "case_filed"]
    assert sum(cases) >= 2 and len(cases) - sum(cases) <= 2  # cases are (nearly all) frauds
    for o in outcomes:  # "days to weeks", never instantly
        detail = store.detail(o.lead_id)
        started = next(h.at for h in detail.history if h.to_status == "verifying")
        dispatched = next(h.at for h in detail.history if h.to_status == "dispatched")
        assert 7 <= (o.recorded_at.date() - started.date()).days <= 8 * 7 + 6
        assert 1 <= (started.date() - dispatched.date()).days <= 5
        assert (o.amount_recovered > 0) == (o.outcome == "case_filed")
    _assert_capacity_never_exceeded(store, params.capacity)
    assert store.count_leads(scenario="mortgage_loans", status="new") == 1
    store.close()


def _assert_capacity_never_exceeded(store: LeadStore, capacity: int) -> None:
    """Replay every lead's history: per district, leads in hand at any moment <= capacity."""
    events = []
    for lead in store.list_leads(scenario="fuel_tax"):
        for h in store.detail(lead.id).history:
            if h.from_status == "new":
                events.append((h.at, lead.district, +1))
            if h.to_status in ("case_filed", "no_case", "invalid"):
                events.append((h.at, lead.district, -1))
    in_hand: Counter = Counter()
    for _, district, delta in sorted(events):
        in_hand[district] += delta
        assert in_hand[district] <= capacity


def test_simulation_errs_realistically_on_a_larger_run(tmp_path: Path) -> None:
    """On SQLite only (statistics, not storage): misses, rare false cases, some invalid."""
    truth = _truth(tmp_path, n=600)
    store = sim.open_simulated(f"sqlite:///{tmp_path / 'big.db'}")
    store.upsert_leads(
        make_run(
            "r1", list(truth.entity_id), district=list(truth.district), as_of=date(2025, 6, 30)
        )
    )
    sim.simulate(store, tmp_path, days=150, seed=1, params=sim.VerifierParams(capacity=40))
    fraud = truth.set_index("entity_id")["is_fraud"]
    entity = {v.id: v.entity_id for v in store.list_leads()}
    table = pd.DataFrame(
        [(fraud[entity[o.lead_id]], o.outcome) for o in store.outcomes()],
        columns=["fraud", "outcome"],
    )
    assert len(table) >= 300
    on_fraud = table[table.fraud].outcome.value_counts(normalize=True)
    on_honest = table[~table.fraud].outcome.value_counts(normalize=True)
    assert 0.70 <= on_fraud["case_filed"] <= 0.92 and on_fraud["no_case"] > 0.03  # misses
    assert on_honest.get("case_filed", 0.0) <= 0.06  # rare false cases
    assert 0.005 <= (table.outcome == "invalid").mean() <= 0.10
    store.close()


def test_simulation_is_deterministic(tmp_path: Path) -> None:
    truth = _truth(tmp_path)
    results = []
    for name in ("a", "b"):
        store = _seed_store(f"sqlite:///{tmp_path / name}.db", truth)
        sim.simulate(store, tmp_path, days=50, seed=11)
        results.append(
            [(o.lead_id, o.outcome, o.amount_recovered, o.recorded_at) for o in store.outcomes()]
        )
        store.close()
    assert results[0] == results[1] and len(results[0]) > 5


def test_simulation_continues_where_it_stopped(tmp_path: Path) -> None:
    truth = _truth(tmp_path)
    store = _seed_store(f"sqlite:///{tmp_path / 'c.db'}", truth)
    first = sim.simulate(store, tmp_path, days=20, seed=2)
    second = sim.simulate(store, tmp_path, days=20, seed=2)
    assert second.start > first.end - timedelta(days=1)
    store.close()


def test_simulate_command_line(tmp_path: Path) -> None:
    truth = _truth(tmp_path)
    _seed_store(f"sqlite:///{tmp_path / 'leads.db'}", truth).close()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "leads.simulate",
            "--data",
            str(tmp_path),
            "--days",
            "40",
            "--capacity",
            "3",
            "--seed",
            "5",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "simulated 2025-07-01 .. 2025-08-09"
    row = next(ln for ln in lines if ln.startswith("fuel_tax")).split()
    assert int(row[1]) >= 9  # dispatched: at least 3 per district
    assert "skipped mortgage_loans" in done.stderr  # a warning, logged to standard error
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "leads.simulate",
            "--data",
            str(tmp_path),
            "--db",
            "postgresql+psycopg://x@127.0.0.1:1/none",
            "--days",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")
    assert len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("missing", ["is_fraud", "entity_id"])
def test_truth_without_required_columns_is_refused(tmp_path: Path, missing: str) -> None:
    (tmp_path / "truth").mkdir()
    pd.DataFrame({"entity_id": ["a"], "is_fraud": [True]}).drop(columns=missing).to_parquet(
        tmp_path / "truth" / "fuel_tax.parquet"
    )
    with pytest.raises(ValueError, match=f"missing column.*{missing}"):
        sim.load_truth(tmp_path, "fuel_tax")


def test_bid_rigging_truth_comes_from_the_authorities_findings(tmp_path: Path) -> None:
    """The real procurement data has no simulator truth: its collusion labels stand in."""
    from models.bid_rigging.procurement import ProcurementDataError, procurement_dir

    try:
        procurement_dir(None)
    except ProcurementDataError:
        pytest.skip("procurement CSV files not available")
    truth = sim.load_truth(tmp_path, "bid_rigging")
    assert truth is not None and truth.index.is_unique and len(truth) > 1000
    assert 0.05 < truth["is_fraud"].mean() < 0.95
    assert set(truth.loc[truth.is_fraud, "pattern"]) == {"collusion"}
    assert all(i.count(":") == 2 for i in truth.index[:100])  # country:tender:n, as features
