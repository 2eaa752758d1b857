"""Alembic environment for the lead store: run with the engine passed in by ``leads.db.upgrade``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from leads.db import writer
from leads.models import Base

ADVISORY_LOCK_KEY = 5_170_001  # arbitrary constant: "lead store migrations"


def run_migrations_online() -> None:
    """Migrate inside one write transaction so concurrent starters never race each other."""
    engine = context.config.attributes["engine"]
    with writer(engine).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("the lead store migrations run online only (leads.db.upgrade)")
run_migrations_online()
