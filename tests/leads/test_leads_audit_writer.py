"""Audit rows by group commit (``leads.audit_writer``), on SQLite and PostgreSQL: concurrent
rows share a commit, each caller returns only once its own row is committed, a row the database
refuses fails only its own caller, a failing store fails every caller with ``AuditUnavailable``,
and a process killed with SIGKILL mid-load lost no acknowledged row."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import UTC, datetime
from threading import Event

import pytest
import sqlalchemy as sa

from leads import db
from leads.audit_writer import AuditRow, AuditWriter
from leads.errors import AuditUnavailable, InvalidValue
from leads.store import LeadStore


def audited_ids(store: LeadStore) -> list[str]:
    with store.engine.connect() as conn:
        return [row[0] for row in conn.execute(sa.text("SELECT object_id FROM audit_log"))]


@contextmanager
def audit_table_locked(store: LeadStore) -> Iterator[None]:
    """Another connection holds the lock every audit insert needs, until the block ends."""
    conn = db.writer(store.engine).connect()
    transaction = conn.begin()  # SQLite: BEGIN IMMEDIATE, the write lock (leads.db)
    try:
        if store.engine.dialect.name != "sqlite":
            conn.exec_driver_sql("LOCK TABLE audit_log IN EXCLUSIVE MODE")
        yield
    finally:
        transaction.rollback()
        conn.close()


def refuse_audit_rows(store: LeadStore, when: str) -> None:
    """A trigger that makes the database refuse audit inserts matching ``when`` (SQL on NEW)."""
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                f"CREATE TRIGGER audit_refuses BEFORE INSERT ON audit_log WHEN {when} "
                "BEGIN SELECT RAISE(ABORT, 'audit insert refused by the test trigger'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION audit_refuses() RETURNS trigger AS $$ BEGIN "
                f"IF {when} THEN RAISE EXCEPTION 'audit insert refused by the test trigger'; "
                "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER audit_refuses BEFORE INSERT ON audit_log "
                "FOR EACH ROW EXECUTE FUNCTION audit_refuses()"
            )


def row(store: LeadStore, object_id: str) -> AuditRow:
    return AuditRow("reader", "read_lead", "lead", object_id, store.now(), "staff", None, {})


def test_concurrent_rows_share_commits_and_wait_for_their_own(db_url: str) -> None:
    store = LeadStore.open(db_url, migrate=False)
    writer = store._audit_writer
    try:
        with audit_table_locked(store):
            futures: list[Future[None]] = [writer.submit(row(store, f"r{i}")) for i in range(20)]
            time.sleep(0.3)
            assert not any(f.done() for f in futures), "answered before the row was committed"
            assert audited_ids(store) == []
        for f in futures:
            f.result(timeout=60)
        assert sorted(audited_ids(store)) == sorted(f"r{i}" for i in range(20))
        assert writer.rows == 20
        assert writer.commits <= 2  # the first row alone at most, then the 19 queued behind it
    finally:
        store.close()


def test_threads_through_the_store_share_commits(db_url: str) -> None:
    store = LeadStore.open(db_url, migrate=False)
    barrier = threading.Barrier(8)

    def reads(t: int) -> None:
        barrier.wait()
        for i in range(10):
            store.audit(
                actor="reader", action="read_lead", object_type="lead", object_id=f"{t}-{i}"
            )

    try:
        threads = [threading.Thread(target=reads, args=(t,)) for t in range(8)]
        with audit_table_locked(store):  # every thread's first row queues behind the lock
            for t in threads:
                t.start()
            time.sleep(0.5)
        for t in threads:
            t.join()
        assert sorted(audited_ids(store)) == sorted(f"{t}-{i}" for t in range(8) for i in range(10))
        assert store._audit_writer.commits < 80
    finally:
        store.close()


def test_a_refused_row_fails_only_its_caller(db_url: str) -> None:
    store = LeadStore.open(db_url, migrate=False)
    refuse_audit_rows(store, "NEW.object_id = 'refused'")
    writer = store._audit_writer
    try:
        with audit_table_locked(store):  # all three end up in one batch, which fails
            futures = {name: writer.submit(row(store, name)) for name in ("a", "refused", "b")}
        futures["a"].result(timeout=60)
        futures["b"].result(timeout=60)
        with pytest.raises(AuditUnavailable, match="refused by the test trigger"):
            futures["refused"].result(timeout=60)
        assert sorted(audited_ids(store)) == ["a", "b"]
    finally:
        store.close()


def test_a_failing_store_fails_every_caller(db_url: str) -> None:
    store = LeadStore.open(db_url, migrate=False)
    refuse_audit_rows(store, "1 = 1")
    try:
        with pytest.raises(AuditUnavailable, match="could not be written.*not answered"):
            store.audit(actor="reader", action="read_lead", object_type="lead", object_id="1")
        assert audited_ids(store) == []
    finally:
        store.close()


def test_unstorable_details_are_refused_before_queueing(db_url: str) -> None:
    store = LeadStore.open(db_url, migrate=False)
    try:
        with pytest.raises(InvalidValue, match="details"):
            store.audit(actor="r", action="read", object_type="lead", details={"x": object()})
        with pytest.raises(AuditUnavailable, match="closed"):
            store.close()
            store.audit(actor="r", action="read", object_type="lead")
    finally:
        store.close()


READER = """
import sys, threading
from leads.store import LeadStore
store = LeadStore.open(sys.argv[1], migrate=False)
lock = threading.Lock()
def reads(t):
    for i in range(100_000):
        store.audit(actor="reader", action="read_lead", object_type="lead", object_id=f"{t}-{i}")
        with lock:
            sys.stdout.write(f"{t}-{i}\\n")
            sys.stdout.flush()
threads = [threading.Thread(target=reads, args=(t,)) for t in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
"""


def test_sigkill_mid_load_loses_no_acknowledged_read(db_url: str) -> None:
    """A real process with eight reader threads, killed with SIGKILL while its rows are being
    committed: every read it acknowledged (printed after ``audit`` returned) has its row."""
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, db_url], stdout=subprocess.PIPE, text=True
    )
    acknowledged: list[str] = []
    try:
        assert reader.stdout is not None
        while len(acknowledged) < 300:
            line = reader.stdout.readline()
            assert line, f"reader exited early with {reader.poll()}"
            acknowledged.append(line.strip())
    finally:
        reader.kill()  # SIGKILL, mid-load
        rest, _ = reader.communicate(timeout=60)
    assert reader.returncode == -9
    acknowledged += [line for line in rest.split("\n")[:-1] if line]  # complete lines only
    store = LeadStore.open(db_url)
    try:
        if db_url.startswith("sqlite"):
            with store.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        stored = set(audited_ids(store))
        assert set(acknowledged) <= stored, sorted(set(acknowledged) - stored)[:5]
    finally:
        store.close()


def _batched_writer(
    fail: Exception | None,
) -> tuple[AuditWriter, list[list[str | None]], Event, Event]:
    """An :class:`AuditWriter` over a recording ``write_rows`` that fails with ``fail`` whenever
    a row named 'bad' is in the batch (or always, for 'all'). Each call sets ``entered`` and then
    waits for ``go``, so rows submitted after ``entered`` is set all queue for the next batch."""
    calls: list[list[str | None]] = []
    entered, go = Event(), Event()

    def write_rows(rows: Sequence[AuditRow]) -> None:
        entered.set()
        assert go.wait(10), "the test never released the writer"
        ids = [r.object_id for r in rows]
        calls.append(ids)
        if fail is not None and ("bad" in ids or "all" in ids):
            raise fail

    return AuditWriter(write_rows), calls, entered, go


def _rows(*ids: str) -> list[AuditRow]:
    at = datetime(2025, 1, 1, tzinfo=UTC)
    return [AuditRow("reader", "read_lead", "lead", i, at, "staff", None, {}) for i in ids]


def test_a_database_failure_fails_the_batch_at_once_without_row_by_row_retries() -> None:
    down = sa.exc.OperationalError("INSERT INTO audit_log ...", {}, Exception("disk I/O error"))
    writer, calls, entered, go = _batched_writer(down)
    try:
        first = writer.submit(_rows("all")[0])  # holds the writer until ``go``
        assert entered.wait(10)
        rest = [writer.submit(r) for r in _rows("all", "x", "y", "z")]
        go.set()
        for future in [first, *rest]:
            with pytest.raises(AuditUnavailable, match="OperationalError: disk I/O error"):
                future.result(timeout=10)
        assert calls == [["all"], ["all", "x", "y", "z"]]  # one try per batch, none per row
    finally:
        writer.close()


def test_a_row_refused_by_a_constraint_is_retried_alone_and_fails_only_its_caller() -> None:
    refused = sa.exc.IntegrityError("INSERT INTO audit_log ...", {}, Exception("CHECK failed"))
    writer, calls, entered, go = _batched_writer(refused)
    try:
        first = writer.submit(_rows("w")[0])
        assert entered.wait(10)
        rest = dict(zip("abc", [writer.submit(r) for r in _rows("a", "bad", "c")], strict=True))
        go.set()
        first.result(timeout=10)
        rest["a"].result(timeout=10)
        rest["c"].result(timeout=10)
        with pytest.raises(AuditUnavailable, match="IntegrityError: CHECK failed"):
            rest["b"].result(timeout=10)
        assert calls == [["w"], ["a", "bad", "c"], ["a"], ["bad"], ["c"]]
        assert (writer.commits, writer.rows) == (3, 3)
    finally:
        writer.close()
