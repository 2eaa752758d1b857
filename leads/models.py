"""The lead store's tables (SQLAlchemy 2 typed declarative).

The schema itself is created by the Alembic migrations in ``leads/migrations``; these classes
describe it for queries, and a test checks that the two never drift apart.

Why each table exists:
- ``leads``: one row per lead with its *current* state (status, unit, deadline) so lists and the
  overdue query stay one indexed scan. A partial unique index allows one open lead per
  scenario and entity.
- ``lead_scores``: every score any run gave a lead, so a re-flagged entity keeps its history.
- ``assignments``: every hand-over (交办) with who assigned it and when.
- ``status_history``: append-only; every status change with who, when and a note.
- ``outcomes``: the verified result, one per lead (a unique key makes double recording harmless).
- ``audit_log``: every read and change the service or the command line made, with the stated reason.
- ``api_keys``: hashed secrets of the web service's callers; the secret itself is never stored.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from .cli_args import ROLES
from .statuses import OUTCOMES, STATUSES

OPEN_LEAD_WHERE = "status IN ('new', 'dispatched', 'verifying')"


def _in_list(column: str, values: tuple[str, ...]) -> str:
    """SQL ``column IN (...)`` for a CHECK constraint over known string values."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as naive UTC, returned as aware UTC on every database.

    SQLite has no time zone type; storing UTC everywhere and attaching the zone on the way out
    keeps comparisons and ISO weeks identical on SQLite and PostgreSQL.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value!r} has no time zone; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base of the lead store tables."""


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        CheckConstraint(_in_list("status", STATUSES), name="ck_leads_status"),
        Index(
            "uq_leads_open_entity",
            "scenario",
            "entity_id",
            unique=True,
            sqlite_where=text(OPEN_LEAD_WHERE),
            postgresql_where=text(OPEN_LEAD_WHERE),
        ),
        Index("ix_leads_scenario_status_district", "scenario", "status", "district"),
        Index("ix_leads_deadline", "deadline"),
        # the staff list: filtered by district or scenario, most suspicious first (0002)
        Index("ix_leads_district_rank", "district", "score", "id"),
        Index("ix_leads_scenario_rank", "scenario", "score", "id"),
        Index("ix_leads_rank", "score", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(128))
    district: Mapped[str] = mapped_column(String(64))
    model_name: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str] = mapped_column(String(128))
    score: Mapped[float] = mapped_column(Float)
    probability: Mapped[float | None] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[Any] = mapped_column(JSON)
    as_of: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    unit: Mapped[str | None] = mapped_column(String(128))
    assignee: Mapped[str | None] = mapped_column(String(128))
    deadline: Mapped[date | None] = mapped_column(Date)
    #: the declared estimate of what the lead puts at stake (migration 0002), in amount_unit
    amount: Mapped[float | None] = mapped_column(Float)
    amount_unit: Mapped[str | None] = mapped_column(String(64))
    probability_low: Mapped[float | None] = mapped_column(Float)
    probability_high: Mapped[float | None] = mapped_column(Float)


class LeadScore(Base):
    __tablename__ = "lead_scores"
    __table_args__ = (
        UniqueConstraint("lead_id", "run_id", name="uq_lead_scores_lead_run"),
        Index("ix_lead_scores_version", "model_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="RESTRICT"))
    run_id: Mapped[str] = mapped_column(String(128))
    model_name: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    probability: Mapped[float | None] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[Any] = mapped_column(JSON)
    as_of: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Assignment(Base):
    __tablename__ = "assignments"
    __table_args__ = (Index("ix_assignments_lead", "lead_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="RESTRICT"))
    unit: Mapped[str] = mapped_column(String(128))
    assignee: Mapped[str] = mapped_column(String(128))
    deadline: Mapped[date] = mapped_column(Date)
    assigned_by: Mapped[str] = mapped_column(String(128))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StatusChange(Base):
    __tablename__ = "status_history"
    __table_args__ = (
        CheckConstraint(_in_list("to_status", STATUSES), name="ck_status_history_to"),
        Index("ix_status_history_lead", "lead_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="RESTRICT"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)


class Outcome(Base):
    __tablename__ = "outcomes"
    __table_args__ = (
        CheckConstraint(_in_list("outcome", OUTCOMES), name="ck_outcomes_outcome"),
        CheckConstraint("amount_recovered >= 0", name="ck_outcomes_amount"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="RESTRICT"), unique=True)
    outcome: Mapped[str] = mapped_column(String(16))
    amount_recovered: Mapped[float] = mapped_column(Float)
    case_reference: Mapped[str | None] = mapped_column(String(128))
    model_name: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(128))
    role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[Any] = mapped_column(JSON)


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(_in_list("role", ROLES), name="ck_api_keys_role"),
        CheckConstraint("role <> 'staff' OR district IS NOT NULL", name="ck_api_keys_district"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    district: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
