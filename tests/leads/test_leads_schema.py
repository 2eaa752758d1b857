"""Schema, migrations, connection settings and API keys, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from leads import db
from leads.auth import authenticate, create_api_key, revoke_api_key
from leads.errors import InvalidValue, UnknownStatus
from leads.models import ApiKey, Base
from leads.store import LeadStore


def test_migrations_build_exactly_the_models(db_url: str) -> None:
    engine = db.make_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert db.current_revision(engine) == db.HEAD_REVISION
    engine.dispose()


def test_head_constant_matches_the_migration_files() -> None:
    script = ScriptDirectory.from_config(db.alembic_config(db.make_engine("sqlite://")))
    assert script.get_current_head() == db.HEAD_REVISION


def test_concurrent_first_upgrades_do_not_race(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    errors: list[BaseException] = []

    def up() -> None:
        try:
            db.upgrade(url)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=up) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert db.current_revision(db.make_engine(url)) == db.HEAD_REVISION


def test_sqlite_runs_wal_with_foreign_keys(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'sub' / 'leads.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    db.upgrade(engine)
    with pytest.raises(Exception, match="FOREIGN KEY"), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outcomes (lead_id, outcome, amount_recovered, "
                "model_name, model_version, actor, recorded_at) VALUES "
                "(999, 'no_case', 0, 'm', '1', 'a', '2026-01-01')"
            )
        )


def test_default_url_follows_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEADS_DB_URL", raising=False)
    monkeypatch.delenv("SUPERVISION_DATA", raising=False)
    assert db.default_url() == "sqlite:///data/leads.db"
    monkeypatch.setenv("SUPERVISION_DATA", "/srv/pool")
    assert db.default_url() == "sqlite:////srv/pool/leads.db"
    monkeypatch.setenv("LEADS_DB_URL", "postgresql+psycopg://u@h/leads")
    assert db.default_url() == "postgresql+psycopg://u@h/leads"


def test_api_keys_are_hashed_and_checked(store: LeadStore) -> None:
    key_id, secret = create_api_key(
        store, name="Haidian desk", role="staff", district="Haidian", actor="admin"
    )
    principal = authenticate(store, secret)
    assert principal is not None
    assert (principal.key_id, principal.role, principal.district) == (key_id, "staff", "Haidian")
    with store.reading() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
        assert secret not in (row.secret_hash, row.key_id) and len(row.secret_hash) == 64
    assert authenticate(store, secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert authenticate(store, "nope") is None and authenticate(store, None) is None
    assert revoke_api_key(store, key_id, actor="admin") is True
    assert authenticate(store, secret) is None
    assert [e.action for e in store.audit_entries("api_key", key_id)] == [
        "revoke_api_key",
        "create_api_key",
    ]


def test_api_key_bad_input(store: LeadStore) -> None:
    with pytest.raises(UnknownStatus, match="role 'root'"):
        create_api_key(store, name="x", role="root", actor="admin")
    with pytest.raises(InvalidValue, match="district"):
        create_api_key(store, name="x", role="staff", actor="admin")
    system_id, system_secret = create_api_key(
        store, name="tax bureau", role="system", actor="admin"
    )
    assert authenticate(store, system_secret).district is None
