"""Lead store throughput: outcomes recorded per second, one writer and four concurrent writer
processes, on SQLite (WAL, synchronous=FULL) and on a temporary PostgreSQL server.

Each writer is a spawned process that opens its own store, waits at a start signal, then records
one outcome per lead on its own share of ``verifying`` leads (each outcome is one transaction:
lock the lead, check the rules, insert outcome, history and audit rows, commit). Throughput is
all outcomes over the time from the start signal to the last writer's finish; latencies are per
outcome as the writer saw them. Setup (leads dispatched and verifying) goes through the same
store API and is not timed.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from leads import db
from leads.pgserver import PgServer, PostgresUnavailable, start_server
from leads.runs import LeadInput, LeadRun
from leads.store import LeadStore

SPAWN = multiprocessing.get_context("spawn")


def _verifying_leads(url: str, count: int) -> list[int]:
    """``count`` leads walked to ``verifying`` through the store API."""
    db.upgrade(url)
    store = LeadStore.open(url, migrate=False)
    try:
        leads = [
            LeadInput(entity_id=f"B{i:06d}", district="Haidian", score=1.0 - i / count, rank=i + 1)
            for i in range(count)
        ]
        run = LeadRun(
            run_id="bench",
            scenario="fuel_tax",
            model_name="fuel_tax",
            model_version="1",
            as_of=store.today(),
            leads=leads,
        )
        ids = store.upsert_leads(run, actor="bench").lead_ids
        deadline = store.today() + timedelta(days=30)
        for lead_id in ids:
            store.dispatch(
                lead_id,
                unit="Haidian procuratorate",
                assignee="bench",
                deadline=deadline,
                actor="bench",
            )
            store.start_verification(lead_id, actor="bench")
        return ids
    finally:
        store.close()


def writer(url: str, lead_ids: list[int], ready: Any, go: Any, results: Any) -> None:
    """Child process: open a store, wait for the signal, record outcomes, report timings."""
    store = LeadStore.open(url, migrate=False)
    ready.release()
    go.wait()
    latencies = []
    for lead_id in lead_ids:
        started = time.perf_counter()
        store.record_outcome(
            lead_id,
            outcome="case_filed" if lead_id % 3 == 0 else "no_case",
            amount_recovered=float(lead_id % 3 == 0) * 1000.0,
            case_reference=f"B-{lead_id}",
            actor="bench-writer",
        )
        latencies.append(time.perf_counter() - started)
    results.put((time.time(), latencies))
    store.close()


def _measure(url: str, lead_ids: list[int], writers: int) -> dict[str, float]:
    """Run ``writers`` processes over disjoint shares of ``lead_ids``."""
    ready, go, results = SPAWN.Semaphore(0), SPAWN.Event(), SPAWN.Queue()
    shares = [lead_ids[i::writers] for i in range(writers)]
    procs = [SPAWN.Process(target=writer, args=(url, s, ready, go, results)) for s in shares]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    started = time.time()
    go.set()
    reports = [results.get(timeout=1800) for _ in procs]
    for p in procs:
        p.join()
    if any(p.exitcode != 0 for p in procs):
        raise RuntimeError(f"a writer failed: exit codes {[p.exitcode for p in procs]}")
    elapsed = max(end for end, _ in reports) - started
    latencies = np.concatenate([lat for _, lat in reports]) * 1000.0
    return {
        "seconds": round(elapsed, 3),
        "outcomes_per_s": round(len(lead_ids) / elapsed, 1),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "p99_ms": round(float(np.percentile(latencies, 99)), 2),
    }


def _case(database: str, url: str, count: int, writers: int) -> dict[str, Any]:
    ids = _verifying_leads(url, count)
    return {
        "database": database,
        "writers": writers,
        "outcomes": count,
        **_measure(url, ids, writers),
    }


def _sqlite_cases(folder: Path, counts: dict[int, int]) -> list[dict[str, Any]]:
    return [
        _case("sqlite", f"sqlite:///{folder / f'bench-{w}.db'}", n, w) for w, n in counts.items()
    ]


def _postgres_cases(counts: dict[int, int]) -> list[dict[str, Any]]:
    try:
        server: PgServer = start_server()
    except PostgresUnavailable as exc:
        return [{"database": "postgresql", "error": str(exc)}]
    try:
        return [
            _case("postgresql", server.create_database(f"bench_{uuid.uuid4().hex[:8]}"), n, w)
            for w, n in counts.items()
        ]
    finally:
        server.stop()


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Outcomes per second for 1 and 4 writers on SQLite and PostgreSQL."""
    counts = {1: 30, 4: 60} if quick else {1: 500, 4: 1000}
    with tempfile.TemporaryDirectory(prefix="bench-leads-") as folder:
        rows = _sqlite_cases(Path(folder), counts)
    return rows + _postgres_cases(counts)


if __name__ == "__main__":
    import pandas as pd

    print(pd.DataFrame(run(quick=True)).to_string(index=False))
