"""One transaction per operation, retried when the database says "try again".

Retried: PostgreSQL serialization failures (40001) and deadlocks (40P01); a unique violation
on the open-lead index (two runs inserting the same entity at once: the retry finds the other's
lead and updates it); SQLite "database is locked" after the busy timeout. Everything else, and
every refusal by the rules, propagates at once after a rollback.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
RETRY_SQLSTATES = frozenset({"40001", "40P01"})
RETRY_UNIQUE_NAMES = ("uq_leads_open_entity", "uq_lead_scores_lead_run", "leads.scenario")


def is_retryable(exc: DBAPIError) -> bool:
    """True when repeating the whole transaction can succeed."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in RETRY_SQLSTATES:
        return True
    message = str(orig)
    if sqlstate == "23505" or "UNIQUE constraint failed" in message:
        return any(name in message for name in RETRY_UNIQUE_NAMES)
    return "database is locked" in message or "database is busy" in message


def run_transaction(
    sessions: sessionmaker[Session], operation: Callable[[Session], T], attempts: int = 8
) -> T:
    """Run ``operation`` in a fresh transaction, committing on return, retrying on conflicts."""
    for attempt in range(attempts):
        try:
            with sessions.begin() as session:
                return operation(session)
        except DBAPIError as exc:
            if attempt == attempts - 1 or not is_retryable(exc):
                raise
            time.sleep(random.uniform(0.0, 0.01 * 2**attempt))
    raise AssertionError("unreachable")
