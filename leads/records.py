"""Plain, frozen views of stored rows: what callers get back (never live ORM objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class LeadView:
    """A lead as it stands; ``overdue`` is derived from the deadline on the store's clock."""

    id: int
    scenario: str
    entity_id: str
    district: str
    model_name: str
    model_version: str
    run_id: str
    score: float
    probability: float | None
    rank: int
    reasons: Any
    as_of: date
    created_at: datetime
    updated_at: datetime
    status: str
    status_changed_at: datetime
    unit: str | None
    assignee: str | None
    deadline: date | None
    overdue: bool
    days_overdue: int
    amount: float | None = None
    amount_unit: str | None = None
    probability_low: float | None = None
    probability_high: float | None = None


@dataclass(frozen=True)
class OutcomeView:
    """A recorded outcome; ``created`` is False when the call found it already recorded."""

    lead_id: int
    outcome: str
    amount_recovered: float
    case_reference: str | None
    model_name: str
    model_version: str
    actor: str
    recorded_at: datetime
    note: str | None
    created: bool = True


@dataclass(frozen=True)
class HistoryView:
    """One status change."""

    from_status: str | None
    to_status: str
    actor: str
    at: datetime
    note: str | None


@dataclass(frozen=True)
class ScoreView:
    """One score a run gave the lead."""

    run_id: str
    model_name: str
    model_version: str
    score: float
    probability: float | None
    rank: int
    as_of: date
    recorded_at: datetime


@dataclass(frozen=True)
class AssignmentView:
    """One hand-over of the lead."""

    unit: str
    assignee: str
    deadline: date
    assigned_by: str
    assigned_at: datetime


@dataclass(frozen=True)
class LeadDetail:
    """Everything known about one lead, oldest first in each list."""

    lead: LeadView
    outcome: OutcomeView | None
    history: list[HistoryView] = field(default_factory=list)
    scores: list[ScoreView] = field(default_factory=list)
    assignments: list[AssignmentView] = field(default_factory=list)


@dataclass(frozen=True)
class AuditView:
    """One audit log entry."""

    id: int
    actor: str
    role: str | None
    action: str
    object_type: str
    object_id: str | None
    at: datetime
    reason: str | None
    details: Any


@dataclass(frozen=True)
class UpsertResult:
    """What ``upsert_leads`` did: ids of the run's leads in input order."""

    created: int
    updated: int
    unchanged: int
    lead_ids: list[int]
