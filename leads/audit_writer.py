"""Group commit for audit rows: one writer thread per process, one commit for many requests.

Why: every read of personal data is audited, and a read must not be answered before its audit
row is durable. Committing each row in its own transaction puts one fsync (SQLite
``synchronous=FULL``; PostgreSQL's WAL flush) and one turn of the write lock on every answer, so
under a staff workload the requests queue on the commit, not on their work. Here a request hands
its row to the process's writer and waits for *that row's* commit; the writer takes every row
queued while the previous commit was in flight and writes them in one transaction. Each answer is
still held until its own row is committed (durability per answer is unchanged), but concurrent
requests share the commit. There is no added delay: a lone request is written at once.

A batch that fails is written again row by row, so one bad row fails only its own request; a
store that is down fails every waiting request with :class:`AuditUnavailable` (the service
answers 503), never silently.

The thread starts on the first row (never at import) and again in a forked child, whose copy of
the parent's thread does not run.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from .errors import AuditUnavailable, InvalidValue
from .models import AuditEntry

log = logging.getLogger("leads.audit_writer")
MAX_BATCH = 256
WAIT_SECONDS = 60.0  # above the SQLite busy timeout (30 s) and the store's retries
_STOP = object()


@dataclass(frozen=True)
class AuditRow:
    """One audit entry as handed to the writer (checked before it is queued)."""

    actor: str
    action: str
    object_type: str
    object_id: str | None
    at: datetime
    role: str | None
    reason: str | None
    details: dict[str, Any]


def checked_details(details: dict[str, Any] | None) -> dict[str, Any]:
    """The details as stored (a JSON object); refused here, before queueing, when they cannot
    be stored, so a bad row cannot fail the other rows of its batch."""
    if details is None:
        return {}
    if not isinstance(details, dict):
        raise InvalidValue("details", type(details).__name__, "must be a JSON object")
    try:
        json.dumps(details)
    except (TypeError, ValueError) as exc:
        raise InvalidValue("details", str(exc), "must be JSON-serialisable") from exc
    return details


Write = Callable[[Sequence[AuditRow]], None]


class AuditWriter:
    """Writes queued audit rows in shared transactions; :meth:`write` returns once the row is
    committed, or raises :class:`AuditUnavailable`.

    ``write_rows`` commits the given rows in one transaction (the store passes its own, with
    its lock and retry rules)."""

    def __init__(
        self, write_rows: Write, max_batch: int = MAX_BATCH, wait_seconds: float = WAIT_SECONDS
    ) -> None:
        self._write_rows = write_rows
        self.max_batch = max_batch
        self.wait_seconds = wait_seconds
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._closed = False
        self.commits = 0  # transactions committed (a test and the benchmark read these)
        self.rows = 0

    def write(self, row: AuditRow) -> None:
        """Queue ``row`` and wait until it is committed."""
        done = self.submit(row)
        try:
            done.result(timeout=self.wait_seconds)
        except FutureTimeout as exc:
            raise AuditUnavailable(
                f"the audit row was not committed within {self.wait_seconds:.0f} s"
            ) from exc

    def submit(self, row: AuditRow) -> Future[None]:
        """Queue ``row``; the future completes when its transaction has committed."""
        done: Future[None] = Future()
        with self._lock:
            if self._closed:
                raise AuditUnavailable("the audit writer is closed")
            self._ensure_thread()
            self._queue.put((row, done))
        return done

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop the thread."""
        with self._lock:
            self._closed = True
            thread = self._thread if self._pid == os.getpid() else None
            if thread is not None:
                self._queue.put(_STOP)
        if thread is not None:
            thread.join(timeout)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        if self._pid != os.getpid():  # a forked child: the parent's queue and thread are not ours
            self._queue = queue.SimpleQueue()
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[tuple[AuditRow, Future[None]]]) -> None:
        try:
            self._write_rows([row for row, _ in batch])
        except Exception as exc:  # noqa: BLE001 - handed to the waiting requests
            if len(batch) == 1 or not row_refused(exc):
                # the database itself failed (connection, lock, disk): every row would wait out
                # the same failure again, so the whole batch is answered at once
                error = unavailable(exc)
                for _, done in batch:
                    done.set_exception(error)
                return
            log.warning(
                "audit batch of %d refused (%s); writing its rows one by one",
                len(batch),
                first_line(exc),
            )
            for item in batch:
                self._commit([item])
            return
        self.commits += 1
        self.rows += len(batch)
        for _, done in batch:
            done.set_result(None)


#: Failures of the database as a whole, not of one row: retrying row by row would only repeat them.
_DATABASE_FAILURES = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)


def row_refused(exc: Exception) -> bool:
    """Whether ``exc`` may be one row's fault (a constraint, a value, a trigger refusing it), so
    the batch's other rows are worth writing on their own."""
    return not isinstance(exc, (*_DATABASE_FAILURES, AuditUnavailable))


def first_line(exc: Exception, limit: int = 200) -> str:
    """The first line of an exception's message (a driver's message runs to the SQL and its
    parameters, which an answer must not echo)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__


def unavailable(exc: Exception) -> AuditUnavailable:
    """The error a waiting request gets when its row's transaction failed."""
    if isinstance(exc, AuditUnavailable):
        return exc
    error = AuditUnavailable(
        f"the audit log could not be written ({type(exc).__name__}: {first_line(exc)})"
    )
    error.__cause__ = exc
    return error


def add_rows(session: Session, rows: Sequence[AuditRow]) -> None:
    """Add ``rows`` to the audit table in ``session``'s transaction."""
    session.add_all(
        AuditEntry(
            actor=row.actor,
            role=row.role,
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            at=row.at,
            reason=row.reason,
            details=row.details,
        )
        for row in rows
    )
