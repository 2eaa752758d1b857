"""Fixtures for the lead store tests: every store test runs on SQLite and on PostgreSQL.

Registered for every test by ``tests/conftest.py``. The
PostgreSQL server is started once per test session from Debian's binaries (see
``leads.pgserver``) and stopped by its PID when the session's process exits; each test gets a
fresh database on it. Without the binaries the PostgreSQL half of every test fails when ``CI``
is set, and is skipped otherwise.

The worker functions at the bottom run in child processes (multiprocessing, spawn).
"""

from __future__ import annotations

import atexit
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, select, text

from leads import db
from leads.pgserver import PgServer, find_bindir, start_server
from leads.runs import LeadInput, LeadRun
from leads.store import LeadStore

__all__ = [
    "ManualClock",
    "advance_to",
    "clock",
    "db_url",
    "make_run",
    "pg_server",
    "snapshot",
    "store",
]

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 on a Monday in Beijing
_SERVER: dict[str, PgServer] = {}


class ManualClock:
    """A clock the test moves by hand (aware UTC)."""

    def __init__(self, start: datetime = START):
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, days: float = 0, hours: float = 0) -> None:
        self.moment += timedelta(days=days, hours=hours)


def _shared_server() -> PgServer:
    """One server per test process, stopped by PID at exit."""
    if "server" not in _SERVER:
        server = start_server()
        _SERVER["server"] = server
        atexit.register(server.stop)
    return _SERVER["server"]


@pytest.fixture(scope="session")
def pg_server() -> PgServer:
    """The session's PostgreSQL server (fails in CI when PostgreSQL is missing)."""
    if find_bindir() is None:
        message = (
            "PostgreSQL binaries not found (/usr/lib/postgresql/*/bin); "
            "install with: apt-get install -y postgresql"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return _shared_server()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """A fresh, migrated, empty lead store URL on each database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'leads.db'}"
    else:
        server: PgServer = request.getfixturevalue("pg_server")
        url = server.create_database(f"leads_{uuid.uuid4().hex[:12]}")
    db.upgrade(url)
    return url


@pytest.fixture
def clock() -> ManualClock:
    """The manual clock of the ``store`` fixture: Monday 2 March 2026, 09:00 in Beijing."""
    return ManualClock()


@pytest.fixture
def store(db_url: str, clock: ManualClock) -> Iterator[LeadStore]:
    """A store on the manual ``clock``."""
    opened = LeadStore.open(db_url, migrate=False, clock=clock)
    yield opened
    opened.close()


def make_run(
    run_id: str,
    entities: list[str],
    *,
    scenario: str = "fuel_tax",
    version: str = "1",
    district: str | list[str] = "Haidian",
    scores: list[float] | None = None,
    as_of: date = date(2026, 2, 28),
) -> LeadRun:
    """A run flagging ``entities`` in rank order (scores descending unless given)."""
    scores = scores or [1.0 - i / (len(entities) + 1) for i in range(len(entities))]
    districts = [district] * len(entities) if isinstance(district, str) else district
    leads = [
        LeadInput(
            entity_id=e,
            district=d,
            score=s,
            rank=i + 1,
            probability=min(1.0, s),
            reasons=[{"feature": "gap", "value": s, "text": f"gap for {e}"}],
        )
        for i, (e, d, s) in enumerate(zip(entities, districts, scores, strict=True))
    ]
    return LeadRun(
        run_id=run_id,
        scenario=scenario,
        model_name=scenario,
        model_version=version,
        as_of=as_of,
        leads=leads,
    )


def advance_to(store: LeadStore, lead_id: int, status: str, deadline_days: int = 14) -> None:
    """Walk a ``new`` lead along the legal path to ``status``."""
    if status == "new":
        return
    deadline = store.today() + timedelta(days=deadline_days)
    store.dispatch(
        lead_id, unit="Haidian procuratorate", assignee="Wang", deadline=deadline, actor="unit-head"
    )
    if status == "dispatched":
        return
    store.start_verification(lead_id, actor="Wang")
    if status == "verifying":
        return
    store.record_outcome(lead_id, outcome=status, actor="Wang", amount_recovered=0.0)


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every lead store table, for "nothing changed" checks."""
    tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
    with engine.connect() as conn:
        return {
            t: sorted(tuple(map(repr, row)) for row in conn.execute(text(f"SELECT * FROM {t}")))
            for t in tables
        }


# ----------------------------------------------------------------- child-process workers
def reassign_worker(url: str, lead_id: int, times: int, worker: int) -> None:
    """Re-dispatch one lead ``times`` times (tests that no assignment is lost)."""
    opened = LeadStore.open(url, migrate=False)
    try:
        for i in range(times):
            opened.dispatch(
                lead_id,
                unit=f"unit-{worker}",
                assignee=f"w{worker}-{i}",
                deadline=opened.today() + timedelta(days=30),
                actor=f"worker-{worker}",
            )
    finally:
        opened.close()


def upsert_worker(url: str, entity: str, runs: int, worker: int) -> None:
    """Flag the same entity in ``runs`` separate runs (tests deduplication under races)."""
    opened = LeadStore.open(url, migrate=False)
    try:
        for i in range(runs):
            run = make_run(f"run-{worker}-{i}", [entity], scores=[0.5 + worker / 10 + i / 100])
            opened.upsert_leads(run, actor=f"worker-{worker}")
    finally:
        opened.close()


def mixed_worker(
    url: str,
    lead_id: int,
    reassigns: int,
    entity: str,
    upserts: int,
    outcome_ids: list[int],
    worker: int,
) -> None:
    """One process doing three kinds of writes that race with its siblings' on purpose."""
    reassign_worker(url, lead_id, reassigns, worker)
    upsert_worker(url, entity, upserts, worker)
    outcome_worker(url, outcome_ids, "no_case")


def outcome_worker(url: str, lead_ids: list[int], outcome: str, connection: Any = None) -> None:
    """Record one outcome per lead; after each commit, acknowledge the lead id on the pipe."""
    opened = LeadStore.open(url, migrate=False)
    try:
        for lead_id in lead_ids:
            opened.record_outcome(
                lead_id,
                outcome=outcome,
                actor="writer",
                amount_recovered=float(lead_id),
                case_reference=f"C-{lead_id}",
            )
            if connection is not None:
                connection.send(lead_id)
    finally:
        opened.close()


def lead_count(engine: Engine) -> int:
    """Rows in ``leads`` (a cheap probe used by several tests)."""
    from leads.models import Lead

    with engine.connect() as conn:
        return len(conn.execute(select(Lead.id)).all())
