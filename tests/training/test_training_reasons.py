"""Every reason of every lead a training run writes is a sentence about the entity: no raw
feature name, no "unknown"/"nan", no unformatted number, in Chinese and in English.

The three simulated scenarios are trained on one small pool into a real MLflow store and a real
SQLite lead store (the same job ``make train`` runs; ``python -m training.reason_check`` runs
the same check over a full ``make train``).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from training.reason_check import bad_leads, declared_names
from training.train_policy import policy_for

pytestmark = (
    pytest.mark.slow
)  # minutes, not seconds (trains, serves or benchmarks): make test-fast skips it

SCENARIOS = ("fuel_tax", "mortgage_loans", "fake_certificates")


@pytest.fixture(scope="module")
def leads(tmp_path_factory):
    from leads.store import LeadStore
    from training.train import run

    root = tmp_path_factory.mktemp("reasons")
    data = root / "data"
    url = f"sqlite:///{root / 'leads.db'}"
    lenient = {s: replace(policy_for(s), floor=0.0, capacity=6) for s in SCENARIOS}
    run(list(SCENARIOS), str(data), seed=3, root=root, scale=0.2, leads_url=url, policies=lenient)
    store = LeadStore.open(url)
    try:
        yield store.list_leads()
    finally:
        store.close()


def test_every_scenario_wrote_explained_leads(leads) -> None:
    assert {lead.scenario for lead in leads} == set(SCENARIOS)
    assert all(lead.reasons for lead in leads)
    assert all(set(r["texts"]) == {"zh", "en"} for lead in leads for r in lead.reasons)


def test_no_reason_shows_the_machinery(leads) -> None:
    bad = bad_leads(leads, declared_names())
    shown = [
        f"{lead.scenario} lead {lead.id} [{lang}]: {text!r} {found}"
        for lead, lang, text, found in bad[:20]
    ]
    assert not bad, "\n".join(shown)
    assert not any(r["feature"] == "detector_score" for lead in leads for r in lead.reasons)
