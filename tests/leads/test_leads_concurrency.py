"""Concurrent writers lose no update, with threads and with processes (spawn), on SQLite and
PostgreSQL; and a writer killed with SIGKILL loses no acknowledged outcome."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from leads_fixtures import (
    advance_to,
    make_run,
    mixed_worker,
    outcome_worker,
)

from leads.errors import OutcomeConflict
from leads.models import Assignment, Lead, LeadScore, Outcome, StatusChange
from leads.store import LeadStore

SPAWN = multiprocessing.get_context("spawn")


def _in_threads(count: int, work: Callable[[int], object]) -> list[object]:
    """Run ``work(i)`` in ``count`` threads started together; return results or exceptions."""
    results: list[object] = [None] * count
    barrier = threading.Barrier(count)

    def body(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # collected and asserted on by the caller
            results[i] = exc

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _count(store: LeadStore, model: type, **where: object) -> int:
    query = sa.select(sa.func.count()).select_from(model)
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    with store.reading() as session:
        return int(session.scalar(query))


def _in_processes(target: Callable[..., None], args: list[tuple[object, ...]]) -> None:
    procs = [SPAWN.Process(target=target, args=a) for a in args]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
    assert [p.exitcode for p in procs] == [0] * len(procs)


def test_threads_same_outcome_recorded_once(store: LeadStore) -> None:
    (lead_id,) = store.upsert_leads(make_run("r1", ["E1"])).lead_ids
    advance_to(store, lead_id, "verifying")
    results = _in_threads(
        8,
        lambda i: store.record_outcome(
            lead_id, outcome="case_filed", actor=f"t{i}", amount_recovered=100.0
        ),
    )
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(r.created for r in results) == 1
    assert _count(store, Outcome) == 1
    assert _count(store, StatusChange, lead_id=lead_id, to_status="case_filed") == 1


def test_threads_conflicting_outcomes_one_wins(store: LeadStore) -> None:
    (lead_id,) = store.upsert_leads(make_run("r1", ["E1"])).lead_ids
    advance_to(store, lead_id, "verifying")
    choices = ["case_filed", "no_case", "invalid", "no_case", "case_filed", "invalid"]
    results = _in_threads(
        6, lambda i: store.record_outcome(lead_id, outcome=choices[i], actor=f"t{i}")
    )
    winners = [r for r in results if not isinstance(r, Exception) and r.created]
    assert len(winners) == 1
    same = [r for r in results if not isinstance(r, Exception) and not r.created]
    conflicts = [r for r in results if isinstance(r, OutcomeConflict)]
    assert len(same) + len(conflicts) == 5
    assert all(r.outcome == winners[0].outcome for r in same)
    assert store.get(lead_id).status == winners[0].outcome


def test_threads_reassign_lose_no_update(store: LeadStore) -> None:
    (lead_id,) = store.upsert_leads(make_run("r1", ["E1"])).lead_ids
    advance_to(store, lead_id, "dispatched")
    deadline = store.today() + timedelta(days=10)

    def work(i: int) -> None:
        for k in range(10):
            store.dispatch(
                lead_id, unit=f"u{i}", assignee=f"a{i}-{k}", deadline=deadline, actor=f"t{i}"
            )

    assert not [r for r in _in_threads(4, work) if isinstance(r, Exception)]
    assert _count(store, Assignment, lead_id=lead_id) == 41
    assert _count(store, StatusChange, lead_id=lead_id, to_status="dispatched") == 41
    assert store.get(lead_id).assignee == store.detail(lead_id).assignments[-1].assignee


def test_threads_upsert_same_entity_one_open_lead(store: LeadStore) -> None:
    def work(i: int) -> None:
        for k in range(5):
            store.upsert_leads(
                make_run(f"run-{i}-{k}", ["E1", f"own-{i}"], scores=[0.5 + i / 10 + k / 100, 0.1])
            )

    assert not [r for r in _in_threads(4, work) if isinstance(r, Exception)]
    assert _count(store, Lead, entity_id="E1") == 1
    lead = next(v for v in store.list_leads() if v.entity_id == "E1")
    assert _count(store, LeadScore, lead_id=lead.id) == 20
    assert store.count_leads() == 5


def test_processes_lose_no_update(db_url: str) -> None:
    """Four spawned processes: re-dispatches of one lead, upserts of one entity, and outcomes of
    disjoint leads all land exactly once."""
    store = LeadStore.open(db_url, migrate=False)
    try:
        ids = store.upsert_leads(make_run("seed", [f"E{i}" for i in range(9)])).lead_ids
        advance_to(store, ids[0], "dispatched")
        for lead_id in ids[1:]:
            advance_to(store, lead_id, "verifying")
        _in_processes(
            mixed_worker,
            [(db_url, ids[0], 8, "shared", 4, ids[1 + 2 * w : 3 + 2 * w], w) for w in range(4)],
        )
        assert _count(store, Assignment, lead_id=ids[0]) == 33
        assert _count(store, Lead, entity_id="shared") == 1
        shared = store.list_leads(status="new", limit=100)
        shared_id = next(v.id for v in shared if v.entity_id == "shared")
        assert _count(store, LeadScore, lead_id=shared_id) == 16
        assert _count(store, Outcome) == 8
        assert {store.get(i).status for i in ids[1:]} == {"no_case"}
    finally:
        store.close()


def test_killed_writer_loses_no_acknowledged_outcome(db_url: str) -> None:
    """SIGKILL a process in the middle of recording outcomes: everything it acknowledged (after
    commit) is there, nothing is half-written, and the database opens clean."""
    store = LeadStore.open(db_url, migrate=False)
    total = 200
    ids = store.upsert_leads(make_run("seed", [f"E{i}" for i in range(total)])).lead_ids
    deadline = store.today() + timedelta(days=30)
    for lead_id in ids:
        store.dispatch(lead_id, unit="u", assignee="a", deadline=deadline, actor="head")
        store.start_verification(lead_id, actor="a")
    store.close()
    receiver, sender = SPAWN.Pipe(duplex=False)
    writer = SPAWN.Process(target=outcome_worker, args=(db_url, ids, "case_filed", sender))
    writer.start()
    acknowledged = []
    while len(acknowledged) < 20:
        assert receiver.poll(300), f"writer stalled (exit code {writer.exitcode})"
        acknowledged.append(receiver.recv())
    writer.kill()  # SIGKILL, mid-way
    writer.join()
    while receiver.poll(0.2):
        acknowledged.append(receiver.recv())
    assert writer.exitcode == -9
    assert len(acknowledged) < total, "the writer finished before it was killed"

    reopened = LeadStore.open(db_url)  # migrations re-run: opens clean
    try:
        if db_url.startswith("sqlite"):
            with reopened.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        recorded = {o.lead_id: o for o in reopened.outcomes()}
        assert set(acknowledged) <= set(recorded)
        assert all(recorded[i].case_reference == f"C-{i}" for i in acknowledged)
        for lead_id in ids:  # atomic: an outcome and its status change, or neither
            view = reopened.get(lead_id)
            assert (view.status == "case_filed") == (lead_id in recorded)
        assert _count(reopened, StatusChange, to_status="case_filed") == len(recorded)
    finally:
        reopened.close()
