"""Cold start: the first lead detail of each scenario right after the service starts.

Runs ``bentoml serve`` on the trained deployment (``data/`` and the MLflow store that
``make train`` wrote; the lead store is copied, so the benchmark's key and audit entries stay
out of it), waits until it is ready, and opens one lead per scenario: each the first request
of its scenario since the start. The issue measured 7.7-14 s for it (evidence tables loaded and
normalised on the first request); the goal is 1 s. Start-up itself (until ready) is reported
beside it: that is where the evidence indexes and percentile bases are now built.

Skipped (one row saying so) when there is no trained deployment. ``--quick`` opens the
leads of two scenarios only.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import httpx

from leads.auth import create_api_key
from leads.store import LeadStore
from serving.launch import ROOT, running_service
from settings import get_settings

GOAL_S = 1.0


def first_leads(leads_url: str, limit: int | None) -> dict[str, int]:
    """One lead id per scenario of the store (the most suspicious), read before the start."""
    store = LeadStore.open(leads_url)
    try:
        scenarios = sorted({lead.scenario for lead in store.list_leads(limit=100_000)})
        picked = {s: store.list_leads(scenario=s, limit=1)[0].id for s in scenarios}
    finally:
        store.close()
    return dict(list(picked.items())[:limit]) if limit else picked


def admin_key(leads_url: str) -> str:
    """A fresh admin key in the copied lead store."""
    store = LeadStore.open(leads_url)
    try:
        return create_api_key(store, name="bench cold start", role="admin", actor="bench")[1]
    finally:
        store.close()


def run(quick: bool) -> list[dict]:
    """Start the service on the trained deployment and time each scenario's first lead."""
    data = get_settings().supervision_data
    data = (data if data.is_absolute() else ROOT / data).resolve()
    if not (data / "pool" / "manifest.json").exists() or not (data / "leads.db").exists():
        return [
            {
                "case": "first lead detail after a start",
                "skipped": f"no trained deployment under {data} (run make train)",
            }
        ]
    with tempfile.TemporaryDirectory(prefix="bench-coldstart-") as tmp:
        copy = Path(tmp) / "leads.db"
        shutil.copy(data / "leads.db", copy)
        url = f"sqlite:///{copy}"
        leads = first_leads(url, 2 if quick else None)
        headers = {"Authorization": f"Bearer {admin_key(url)}"}
        env = {
            "SUPERVISION_DATA": str(data),
            "LEADS_DB_URL": url,
            "SERVING_REFRESH_SECONDS": "60",
            "BENTOML_HOME": str(Path(tmp) / "bentoml"),
        }
        started = time.perf_counter()
        rows = []
        with running_service(env, Path(tmp) / "serve.log", timeout=1800) as base:
            ready = time.perf_counter() - started
            with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
                for scenario, lead_id in leads.items():
                    began = time.perf_counter()
                    got = client.get(f"/v1/leads/{lead_id}")
                    first = time.perf_counter() - began
                    began = time.perf_counter()
                    client.get(f"/v1/leads/{lead_id}")
                    second = time.perf_counter() - began
                    rows.append(
                        {
                            "case": f"first lead detail after a start: {scenario}",
                            "status": got.status_code,
                            "evidence_tables": len(got.json().get("evidence") or {})
                            if got.status_code == 200
                            else None,
                            "first_s": round(first, 3),
                            "second_s": round(second, 3),
                            "goal_s": GOAL_S,
                        }
                    )
        rows.append(
            {
                "case": "start-up until ready (models, percentile bases, evidence indexes built)",
                "seconds": round(ready, 1),
            }
        )
    load_avg = round(os.getloadavg()[0], 1)
    return [{**row, "load_avg": load_avg} for row in rows]
