"""Reading the lead store: one lead, lists with filters, the overdue list, outcomes, audit.

Reads run in a deferred transaction (SQLite) or a plain one (PostgreSQL) and never block
writers. ``overdue`` is computed here, from the deadline and the store's clock, never stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from . import statuses
from .calendar import local_day
from .cli_args import LEAD_SORTS
from .errors import InvalidValue, UnknownLead
from .models import Assignment, AuditEntry, Lead, LeadScore, Outcome, StatusChange
from .records import (
    AssignmentView,
    AuditView,
    HistoryView,
    LeadDetail,
    LeadView,
    OutcomeView,
    ScoreView,
)
from .stats import VersionConversion, conversion_by_version

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock in UTC (the default clock)."""
    return datetime.now(UTC)


def check_lead_id(lead_id: object) -> int:
    """A lead id must be an integer (bool is refused: it is an int to Python, not to users)."""
    if isinstance(lead_id, bool) or not isinstance(lead_id, int):
        raise InvalidValue("lead_id", lead_id, "must be an integer")
    return lead_id


class LeadReader:
    """The read side of :class:`leads.store.LeadStore`, on an engine and a clock."""

    def __init__(self, engine: Engine, clock: Clock | None = None):
        self.engine = engine
        self._clock = clock or utc_now
        self._reads = sessionmaker(bind=engine, expire_on_commit=False)

    def reading(self) -> Session:
        """A read-only session (deferred transaction; never blocks writers)."""
        return self._reads()

    # ----------------------------------------------------------------- time
    @property
    def clock(self) -> Clock:
        """The callable this store reads the time from."""
        return self._clock

    def now(self) -> datetime:
        """The store's current time (aware, UTC)."""
        moment = self._clock()
        if moment.tzinfo is None:
            raise ValueError("the store clock must return an aware datetime")
        return moment.astimezone(UTC)

    def today(self) -> date:
        """Today's date on the users' (Beijing) calendar: deadlines are calendar days there."""
        return local_day(self.now())

    def audit_entries(
        self, object_type: str | None = None, object_id: str | None = None, limit: int = 1000
    ) -> list[AuditView]:
        """The newest audit entries first, optionally for one object."""
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if object_type is not None:
            query = query.where(AuditEntry.object_type == object_type)
        if object_id is not None:
            query = query.where(AuditEntry.object_id == object_id)
        with self._reads() as session:
            return [audit_view(entry) for entry in session.scalars(query)]

    # ----------------------------------------------------------------- reads
    def get(self, lead_id: int) -> LeadView:
        """One lead as it stands."""
        lead_id = check_lead_id(lead_id)
        with self._reads() as session:
            lead = session.get(Lead, lead_id)
            if lead is None:
                raise UnknownLead(lead_id)
            return self._view(lead)

    def detail(self, lead_id: int) -> LeadDetail:
        """One lead with its outcome, status history, scores and assignments."""
        lead_id = check_lead_id(lead_id)
        with self._reads() as session:
            lead = session.get(Lead, lead_id)
            if lead is None:
                raise UnknownLead(lead_id)
            outcome = session.scalar(select(Outcome).where(Outcome.lead_id == lead_id))
            return LeadDetail(
                lead=self._view(lead),
                outcome=None if outcome is None else outcome_view(outcome, created=False),
                history=[history_view(h) for h in children(session, StatusChange, lead_id)],
                scores=[score_view(s) for s in children(session, LeadScore, lead_id)],
                assignments=[assignment_view(a) for a in children(session, Assignment, lead_id)],
            )

    def list_leads(
        self,
        *,
        scenario: str | None = None,
        district: str | None = None,
        status: str | None = None,
        overdue: bool | None = None,
        limit: int | None = None,
        offset: int = 0,
        sort: str = "score",
    ) -> list[LeadView]:
        """Leads matching the filters, ordered by ``sort`` (``LEAD_SORTS``): most suspicious
        first by default; by amount at stake or by expected value (probability x amount), the
        largest first, leads without one last; ties by score, then id."""
        query = self._filtered(select(Lead), scenario, district, status, overdue)
        query = query.order_by(*sort_order(sort)).offset(offset).limit(limit)
        with self._reads() as session:
            return [self._view(lead) for lead in session.scalars(query)]

    def count_leads(
        self,
        *,
        scenario: str | None = None,
        district: str | None = None,
        status: str | None = None,
        overdue: bool | None = None,
    ) -> int:
        """How many leads match the filters (for pagination)."""
        query = self._filtered(select(func.count(Lead.id)), scenario, district, status, overdue)
        with self._reads() as session:
            return int(session.scalar(query) or 0)

    def overdue(
        self, *, scenario: str | None = None, district: str | None = None
    ) -> list[LeadView]:
        """Leads to chase (督办): dispatched or verifying past their deadline, oldest first."""
        query = self._filtered(select(Lead), scenario, district, None, True)
        query = query.order_by(Lead.deadline, Lead.id)
        with self._reads() as session:
            return [self._view(lead) for lead in session.scalars(query)]

    def outcomes(self, scenario: str | None = None) -> list[OutcomeView]:
        """Every recorded outcome (optionally of one scenario), oldest first."""
        query = select(Outcome).order_by(Outcome.id)
        if scenario is not None:
            query = query.join(Lead, Lead.id == Outcome.lead_id).where(Lead.scenario == scenario)
        with self._reads() as session:
            return [outcome_view(o, created=False) for o in session.scalars(query)]

    def _filtered(
        self,
        query: Select[Any],
        scenario: str | None,
        district: str | None,
        status: str | None,
        overdue: bool | None,
    ) -> Select[Any]:
        if scenario is not None:
            query = query.where(Lead.scenario == scenario)
        if district is not None:
            query = query.where(Lead.district == district)
        if status is not None:
            query = query.where(Lead.status == statuses.check_status(status))
        if overdue is not None:
            late = Lead.status.in_(statuses.ACTIVE_STATUSES) & (Lead.deadline < self.today())
            query = query.where(late if overdue else ~late)
        return query

    def _view(self, lead: Lead) -> LeadView:
        days = 0
        if lead.status in statuses.ACTIVE_STATUSES and lead.deadline is not None:
            days = max(0, (self.today() - lead.deadline).days)
        return LeadView(
            id=lead.id,
            scenario=lead.scenario,
            entity_id=lead.entity_id,
            district=lead.district,
            model_name=lead.model_name,
            model_version=lead.model_version,
            run_id=lead.run_id,
            score=lead.score,
            probability=lead.probability,
            rank=lead.rank,
            reasons=lead.reasons,
            as_of=lead.as_of,
            created_at=lead.created_at,
            updated_at=lead.updated_at,
            status=lead.status,
            status_changed_at=lead.status_changed_at,
            unit=lead.unit,
            assignee=lead.assignee,
            deadline=lead.deadline,
            overdue=days > 0,
            days_overdue=days,
            amount=lead.amount,
            amount_unit=lead.amount_unit,
            probability_low=lead.probability_low,
            probability_high=lead.probability_high,
        )

    # ----------------------------------------------------------------- figures
    def conversion_by_version(self, scenario: str) -> list[VersionConversion]:
        """Per model version: issued, verified, cases, conversion and its Wilson interval
        (see :func:`leads.stats.conversion_by_version`)."""
        return conversion_by_version(self.engine, scenario)


# LEAD_SORTS (from .cli_args): how a lead list can be ordered (``GET /v1/leads?sort=``,
# ``python -m leads list --sort``)


def sort_order(sort: str) -> tuple[Any, ...]:
    """ORDER BY terms of one of ``LEAD_SORTS`` (a value a lead lacks sorts last)."""
    keys = {
        "score": None,
        "amount": Lead.amount,
        "probability": Lead.probability,
        "expected_value": Lead.probability * Lead.amount,
    }
    if sort not in keys:
        raise InvalidValue("sort", sort, f"must be one of {', '.join(LEAD_SORTS)}")
    first = keys[sort]
    head = () if first is None else (first.desc().nulls_last(),)
    return (*head, Lead.score.desc(), Lead.id)


def children(session: Session, model: Any, lead_id: int) -> Iterable[Any]:
    """Rows of a child table for one lead, oldest first."""
    return session.scalars(select(model).where(model.lead_id == lead_id).order_by(model.id))


def outcome_view(row: Outcome, created: bool) -> OutcomeView:
    return OutcomeView(
        lead_id=row.lead_id,
        outcome=row.outcome,
        amount_recovered=row.amount_recovered,
        case_reference=row.case_reference,
        model_name=row.model_name,
        model_version=row.model_version,
        actor=row.actor,
        recorded_at=row.recorded_at,
        note=row.note,
        created=created,
    )


def history_view(row: StatusChange) -> HistoryView:
    return HistoryView(
        from_status=row.from_status,
        to_status=row.to_status,
        actor=row.actor,
        at=row.at,
        note=row.note,
    )


def score_view(row: LeadScore) -> ScoreView:
    return ScoreView(
        run_id=row.run_id,
        model_name=row.model_name,
        model_version=row.model_version,
        score=row.score,
        probability=row.probability,
        rank=row.rank,
        as_of=row.as_of,
        recorded_at=row.recorded_at,
    )


def assignment_view(row: Assignment) -> AssignmentView:
    return AssignmentView(
        unit=row.unit,
        assignee=row.assignee,
        deadline=row.deadline,
        assigned_by=row.assigned_by,
        assigned_at=row.assigned_at,
    )


def audit_view(row: AuditEntry) -> AuditView:
    return AuditView(
        id=row.id,
        actor=row.actor,
        role=row.role,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        at=row.at,
        reason=row.reason,
        details=row.details,
    )
