"""Connections to the lead store: SQLite by default, PostgreSQL through a URL.

SQLite runs in WAL mode with foreign keys on, ``synchronous=FULL`` (an acknowledged outcome
survives a crash) and a busy timeout. Write transactions start with ``BEGIN IMMEDIATE`` so two
writers queue for the lock instead of both reading and then failing to upgrade it; reads use a
plain deferred ``BEGIN`` so they never block. PostgreSQL needs nothing special here: the store
locks rows with ``SELECT ... FOR UPDATE``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

from settings import get_settings

if TYPE_CHECKING:
    from alembic.config import Config

WRITE_OPTION = "leads_write"
BUSY_TIMEOUT_MS = 30_000
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_UPGRADE_LOCK = threading.Lock()  # Alembic's context is process-global: one upgrade at a time
HEAD_REVISION = "0003"  # the newest file in migrations/versions (a test keeps them in step)


def default_url(data_root: str | os.PathLike[str] | None = None) -> str:
    """The store URL: ``$LEADS_DB_URL``, else SQLite at ``<data root>/leads.db``.

    The data root is ``data_root``, else ``$SUPERVISION_DATA``, else ``data`` (the shared
    build root), so the store sits next to the pool it was built from.
    """
    env = get_settings()
    if env.leads_db_url:
        return env.leads_db_url
    root = Path(data_root or env.supervision_data)
    return f"sqlite:///{root / 'leads.db'}"


def is_sqlite(engine: Engine) -> bool:
    """True for a SQLite engine (changes how transactions begin)."""
    return engine.dialect.name == "sqlite"


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """Pragmas every SQLite connection needs; autocommit so we control BEGIN ourselves."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _switch_to_wal(cursor: Any, attempts: int = 50, pause_s: float = 0.1) -> None:
    """``PRAGMA journal_mode = WAL``, retried: on a brand-new file, two connections switching at
    the same moment can get "database is locked" at once (SQLite does not wait on its busy
    handler for this one), which must not fail the slower starter."""
    for attempt in range(attempts):
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(pause_s)


def _sqlite_begin(connection: Any) -> None:
    """``BEGIN IMMEDIATE`` for writers (take the write lock up front), deferred for readers."""
    immediate = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the settings the store's guarantees rely on.

    For a SQLite file the parent folder is created here (at call time, never at import).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def writer(engine: Engine) -> Engine:
    """The same engine, flagged so SQLite transactions begin with ``BEGIN IMMEDIATE``."""
    return engine.execution_options(**{WRITE_OPTION: True})


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration pointing at the migrations shipped inside the package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["engine"] = engine
    return config


def upgrade(url_or_engine: str | Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest). Safe to call on every start.

    Concurrent callers serialise: threads on a lock here (Alembic's context is global), processes
    on one write transaction (SQLite) or an advisory lock (PostgreSQL), see ``migrations/env.py``.
    """
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        with _UPGRADE_LOCK:  # the check too: threads must not first-open a new file together
            if revision == "head" and current_revision(engine) == HEAD_REVISION:
                return  # already there: skip importing Alembic (it costs every CLI call a second)
            from alembic import command

            command.upgrade(alembic_config(engine), revision)
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None when never migrated)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
