"""The lead store: the hand-over, verify, outcome loop (交办 - 核查 - 督办) with its rules.

Every public method is one transaction: it either applies entirely (with its history and audit
rows) or, when a rule refuses it, raises a :mod:`leads.errors` exception and changes nothing.
Writers lock the lead row first (``SELECT ... FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on
SQLite), so concurrent writers queue instead of overwriting each other.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from . import db, statuses
from .errors import (
    IllegalTransition,
    InvalidValue,
    MissingActor,
    OutcomeConflict,
    UnknownLead,
)
from .models import Assignment, AuditEntry, Lead, LeadScore, Outcome, StatusChange
from .runs import LeadInput, LeadRun, validate_run
from .txn import run_transaction
from .views import (
    AssignmentView,
    AuditView,
    HistoryView,
    LeadDetail,
    LeadView,
    OutcomeView,
    ScoreView,
    UpsertResult,
)

LOCAL_TZ = ZoneInfo("Asia/Shanghai")  # deadlines and weeks are the users' calendar days
Clock = Callable[[], datetime]
T = TypeVar("T")
CHUNK = 500


def utc_now() -> datetime:
    """The wall clock in UTC (the default clock)."""
    return datetime.now(UTC)


def _actor(actor: object) -> str:
    """The acting person or system, stripped; missing or blank is refused."""
    if not isinstance(actor, str) or not actor.strip():
        raise MissingActor()
    return actor.strip()


def _required_text(field: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(field, value, "must be a non-empty string")
    return value.strip()


def _check_lead_id(lead_id: object) -> int:
    if isinstance(lead_id, bool) or not isinstance(lead_id, int):
        raise InvalidValue("lead_id", lead_id, "must be an integer")
    return lead_id


def _amount(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValue("amount_recovered", value, "must be a number")
    if not math.isfinite(value) or value < 0:
        raise InvalidValue("amount_recovered", value, "must be finite and >= 0")
    return round(float(value), 2)


class LeadStore:
    """Leads and their life cycle over a SQLAlchemy engine (SQLite or PostgreSQL).

    ``clock`` returns the current time as an aware datetime; the simulated verifier passes a
    simulated clock so that a season of verification plays out in seconds.
    """

    def __init__(self, engine: Engine, clock: Clock | None = None, owns_engine: bool = False):
        self.engine = engine
        self._clock = clock or utc_now
        self._owns_engine = owns_engine
        self._writes = sessionmaker(bind=db.writer(engine), expire_on_commit=False)
        self._reads = sessionmaker(bind=engine, expire_on_commit=False)

    @classmethod
    def open(
        cls, url: str | None = None, migrate: bool = True, clock: Clock | None = None
    ) -> LeadStore:
        """Connect to ``url`` (default: :func:`leads.db.default_url`), migrating it first."""
        engine = db.make_engine(url or db.default_url())
        if migrate:
            db.upgrade(engine)
        return cls(engine, clock=clock, owns_engine=True)

    def close(self) -> None:
        """Release the connections (only when this store created the engine)."""
        if self._owns_engine:
            self.engine.dispose()

    def transaction(self, operation: Callable[[Session], T]) -> T:
        """Run ``operation`` as one write transaction with the store's lock and retry rules."""
        return run_transaction(self._writes, operation)

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
        return self.now().astimezone(LOCAL_TZ).date()

    # ----------------------------------------------------------------- runs
    def upsert_leads(self, run: LeadRun, actor: str = "training") -> UpsertResult:
        """Store a run's leads: new entities become ``new`` leads; an entity that already has an
        open lead gets that lead re-scored (score, rank, reasons, model) instead of a duplicate.
        Every score lands in ``lead_scores``; re-sending the same run changes nothing."""
        validate_run(run, actor)
        return run_transaction(self._writes, lambda s: self._upsert(s, run, actor.strip()))

    def _upsert(self, session: Session, run: LeadRun, actor: str) -> UpsertResult:
        now = self.now()
        entity_ids = [x.entity_id for x in run.leads]
        open_leads = self._open_leads_for(session, run.scenario, entity_ids)
        scored = self._scored_by_run(session, run)
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        ids: list[int] = []
        for item in run.leads:
            if item.entity_id in scored:
                counts["unchanged"] += 1
                ids.append(scored[item.entity_id])
                continue
            lead = open_leads.get(item.entity_id)
            if lead is None:
                lead = self._create_lead(session, run, item, actor, now)
                counts["created"] += 1
            else:
                self._rescore(lead, run, item, now)
                counts["updated"] += 1
            self._add_score(session, lead, run, item, now)
            ids.append(lead.id)
        self._audit(session, actor, "upsert_leads", "run", run.run_id, now,
                    details={"scenario": run.scenario, "model_version": run.model_version, **counts})
        return UpsertResult(lead_ids=ids, **counts)

    @staticmethod
    def _scored_by_run(session: Session, run: LeadRun) -> dict[str, int]:
        """Entities this very run already scored (re-sending a run is harmless)."""
        query = (
            select(Lead.entity_id, Lead.id)
            .join(LeadScore, LeadScore.lead_id == Lead.id)
            .where(LeadScore.run_id == run.run_id, Lead.scenario == run.scenario)
        )
        return {entity: lead_id for entity, lead_id in session.execute(query)}

    def _open_leads_for(
        self, session: Session, scenario: str, entity_ids: list[str]
    ) -> dict[str, Lead]:
        """The open leads of these entities, locked for update."""
        found: dict[str, Lead] = {}
        for start in range(0, len(entity_ids), CHUNK):
            chunk = entity_ids[start : start + CHUNK]
            query = (
                select(Lead)
                .where(Lead.scenario == scenario, Lead.entity_id.in_(chunk))
                .where(Lead.status.in_(statuses.OPEN_STATUSES))
                .with_for_update()
            )
            found.update({lead.entity_id: lead for lead in session.scalars(query)})
        return found

    def _create_lead(
        self, session: Session, run: LeadRun, item: LeadInput, actor: str, now: datetime
    ) -> Lead:
        lead = Lead(
            scenario=run.scenario, entity_id=item.entity_id, district=item.district,
            model_name=run.model_name, model_version=run.model_version, run_id=run.run_id,
            score=float(item.score), probability=item.probability, rank=item.rank,
            reasons=item.reasons, as_of=run.as_of, created_at=now, updated_at=now,
            status=statuses.NEW, status_changed_at=now,
        )
        session.add(lead)
        session.flush()
        session.add(StatusChange(lead_id=lead.id, from_status=None, to_status=statuses.NEW,
                                 actor=actor, at=now, note=f"issued by run {run.run_id}"))
        return lead

    @staticmethod
    def _rescore(lead: Lead, run: LeadRun, item: LeadInput, now: datetime) -> None:
        """Point the open lead at the newer run (the old values stay in lead_scores)."""
        lead.score, lead.probability, lead.rank = float(item.score), item.probability, item.rank
        lead.reasons, lead.as_of, lead.run_id = item.reasons, run.as_of, run.run_id
        lead.model_name, lead.model_version, lead.updated_at = (
            run.model_name, run.model_version, now)

    @staticmethod
    def _add_score(
        session: Session, lead: Lead, run: LeadRun, item: LeadInput, now: datetime
    ) -> None:
        session.add(LeadScore(
            lead_id=lead.id, run_id=run.run_id, model_name=run.model_name,
            model_version=run.model_version, score=float(item.score),
            probability=item.probability, rank=item.rank, reasons=item.reasons,
            as_of=run.as_of, recorded_at=now,
        ))

    # ----------------------------------------------------------------- life cycle
    def dispatch(
        self, lead_id: int, *, unit: str, assignee: str, deadline: date, actor: str,
        note: str | None = None, role: str | None = None,
    ) -> LeadView:
        """Hand a lead to a unit and an assignee with a deadline (交办). A dispatched lead may be
        dispatched again (re-assigned or given a new deadline when chased); a deadline before
        today is refused."""
        lead_id, who = _check_lead_id(lead_id), _actor(actor)
        unit, assignee = _required_text("unit", unit), _required_text("assignee", assignee)
        if not isinstance(deadline, date) or isinstance(deadline, datetime):
            raise InvalidValue("deadline", deadline, "must be a date (YYYY-MM-DD)", lead_id)
        if deadline < self.today():
            raise InvalidValue("deadline", deadline.isoformat(),
                               f"is in the past (today is {self.today().isoformat()})", lead_id)

        def operation(session: Session) -> LeadView:
            now = self.now()
            lead = self._locked(session, lead_id)
            self._move(session, lead, statuses.DISPATCHED, who, now, note)
            lead.unit, lead.assignee, lead.deadline = unit, assignee, deadline
            session.add(Assignment(lead_id=lead.id, unit=unit, assignee=assignee,
                                   deadline=deadline, assigned_by=who, assigned_at=now))
            self._audit(session, who, "dispatch", "lead", str(lead.id), now, role=role,
                        reason=note, details={"unit": unit, "assignee": assignee,
                                              "deadline": deadline.isoformat()})
            return self._view(lead)

        return run_transaction(self._writes, operation)

    def start_verification(
        self, lead_id: int, *, actor: str, note: str | None = None, role: str | None = None
    ) -> LeadView:
        """The assigned unit starts verifying (核查) a dispatched lead."""
        lead_id, who = _check_lead_id(lead_id), _actor(actor)

        def operation(session: Session) -> LeadView:
            now = self.now()
            lead = self._locked(session, lead_id)
            self._move(session, lead, statuses.VERIFYING, who, now, note)
            self._audit(session, who, "start_verification", "lead", str(lead.id), now,
                        role=role, reason=note)
            return self._view(lead)

        return run_transaction(self._writes, operation)

    def record_outcome(
        self, lead_id: int, *, outcome: str, actor: str, amount_recovered: float = 0.0,
        case_reference: str | None = None, note: str | None = None, role: str | None = None,
    ) -> OutcomeView:
        """Record the verified result of a lead in ``verifying``; it becomes its final status.

        Idempotent: recording the same outcome (status, amount, case reference) again returns
        the stored one with ``created=False``; a different outcome is refused.
        """
        lead_id, who = _check_lead_id(lead_id), _actor(actor)
        outcome = statuses.check_outcome(outcome)
        amount = _amount(amount_recovered)
        reference = case_reference.strip() or None if case_reference else None

        def operation(session: Session) -> OutcomeView:
            now = self.now()
            lead = self._locked(session, lead_id)
            existing = session.scalar(select(Outcome).where(Outcome.lead_id == lead_id))
            if existing is not None:
                return self._same_outcome(existing, outcome, amount, reference)
            self._move(session, lead, outcome, who, now, note)
            row = Outcome(lead_id=lead.id, outcome=outcome, amount_recovered=amount,
                          case_reference=reference, model_name=lead.model_name,
                          model_version=lead.model_version, actor=who, recorded_at=now, note=note)
            session.add(row)
            self._audit(session, who, "record_outcome", "lead", str(lead.id), now, role=role,
                        reason=note, details={"outcome": outcome, "amount_recovered": amount,
                                              "case_reference": reference})
            return _outcome_view(row, created=True)

        return run_transaction(self._writes, operation)

    @staticmethod
    def _same_outcome(
        existing: Outcome, outcome: str, amount: float, reference: str | None
    ) -> OutcomeView:
        """The stored outcome when the request repeats it; a conflict otherwise."""
        same = (existing.outcome, round(existing.amount_recovered, 2), existing.case_reference)
        if same != (outcome, amount, reference):
            raise OutcomeConflict(
                existing.lead_id,
                f"{existing.outcome}, amount {existing.amount_recovered}, "
                f"case {existing.case_reference}",
                f"{outcome}, amount {amount}, case {reference}",
            )
        return _outcome_view(existing, created=False)

    def _locked(self, session: Session, lead_id: int) -> Lead:
        """The lead row, locked until the transaction ends; unknown ids are refused."""
        lead = session.scalar(select(Lead).where(Lead.id == lead_id).with_for_update())
        if lead is None:
            raise UnknownLead(lead_id)
        return lead

    def _move(
        self, session: Session, lead: Lead, to_status: str, actor: str, now: datetime,
        note: str | None,
    ) -> None:
        """Change the lead's status if its life cycle allows it, with a history row."""
        allowed = statuses.allowed_next(lead.status)
        if to_status not in allowed:
            raise IllegalTransition(lead.id, lead.status, to_status, allowed)
        session.add(StatusChange(lead_id=lead.id, from_status=lead.status, to_status=to_status,
                                 actor=actor, at=now, note=note))
        lead.status, lead.status_changed_at, lead.updated_at = to_status, now, now

    # ----------------------------------------------------------------- audit
    def audit(
        self, *, actor: str, action: str, object_type: str, object_id: str | None = None,
        role: str | None = None, reason: str | None = None, details: dict[str, Any] | None = None,
    ) -> None:
        """Append an audit entry for something done outside the store (a read, an export).

        Changes made through the store are audited by the store itself."""
        who = _actor(actor)
        action = _required_text("action", action)
        object_type = _required_text("object_type", object_type)
        run_transaction(self._writes, lambda s: self._audit(
            s, who, action, object_type, object_id, self.now(), role=role, reason=reason,
            details=details))

    @staticmethod
    def _audit(
        session: Session, actor: str, action: str, object_type: str, object_id: str | None,
        at: datetime, *, role: str | None = None, reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        session.add(AuditEntry(actor=actor, role=role, action=action, object_type=object_type,
                               object_id=object_id, at=at, reason=reason, details=details or {}))

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
            return [_audit_view(entry) for entry in session.scalars(query)]

    # ----------------------------------------------------------------- reads
    def get(self, lead_id: int) -> LeadView:
        """One lead as it stands."""
        lead_id = _check_lead_id(lead_id)
        with self._reads() as session:
            lead = session.get(Lead, lead_id)
            if lead is None:
                raise UnknownLead(lead_id)
            return self._view(lead)

    def detail(self, lead_id: int) -> LeadDetail:
        """One lead with its outcome, status history, scores and assignments."""
        lead_id = _check_lead_id(lead_id)
        with self._reads() as session:
            lead = session.get(Lead, lead_id)
            if lead is None:
                raise UnknownLead(lead_id)
            outcome = session.scalar(select(Outcome).where(Outcome.lead_id == lead_id))
            return LeadDetail(
                lead=self._view(lead),
                outcome=None if outcome is None else _outcome_view(outcome, created=False),
                history=[_history_view(h) for h in _children(session, StatusChange, lead_id)],
                scores=[_score_view(s) for s in _children(session, LeadScore, lead_id)],
                assignments=[_assignment_view(a)
                             for a in _children(session, Assignment, lead_id)],
            )

    def list_leads(
        self, *, scenario: str | None = None, district: str | None = None,
        status: str | None = None, overdue: bool | None = None, limit: int | None = None,
        offset: int = 0,
    ) -> list[LeadView]:
        """Leads matching the filters, most suspicious first (score, then id)."""
        query = self._filtered(select(Lead), scenario, district, status, overdue)
        query = query.order_by(Lead.score.desc(), Lead.id).offset(offset).limit(limit)
        with self._reads() as session:
            return [self._view(lead) for lead in session.scalars(query)]

    def count_leads(
        self, *, scenario: str | None = None, district: str | None = None,
        status: str | None = None, overdue: bool | None = None,
    ) -> int:
        """How many leads match the filters (for pagination)."""
        query = self._filtered(select(func.count(Lead.id)), scenario, district, status, overdue)
        with self._reads() as session:
            return int(session.scalar(query) or 0)

    def overdue(self, *, scenario: str | None = None, district: str | None = None) -> list[LeadView]:
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
            return [_outcome_view(o, created=False) for o in session.scalars(query)]

    def _filtered(
        self, query: Select[Any], scenario: str | None, district: str | None,
        status: str | None, overdue: bool | None,
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
            id=lead.id, scenario=lead.scenario, entity_id=lead.entity_id, district=lead.district,
            model_name=lead.model_name, model_version=lead.model_version, run_id=lead.run_id,
            score=lead.score, probability=lead.probability, rank=lead.rank, reasons=lead.reasons,
            as_of=lead.as_of, created_at=lead.created_at, updated_at=lead.updated_at,
            status=lead.status, status_changed_at=lead.status_changed_at, unit=lead.unit,
            assignee=lead.assignee, deadline=lead.deadline, overdue=days > 0, days_overdue=days,
        )

    # ----------------------------------------------------------------- figures
    def conversion_by_version(self, scenario: str) -> list[Any]:
        """Per model version: issued, verified, cases, conversion and its Wilson interval
        (see :func:`leads.stats.conversion_by_version`)."""
        from .stats import conversion_by_version

        return conversion_by_version(self.engine, scenario)


def _children(session: Session, model: Any, lead_id: int) -> Iterable[Any]:
    """Rows of a child table for one lead, oldest first."""
    return session.scalars(select(model).where(model.lead_id == lead_id).order_by(model.id))


def _outcome_view(row: Outcome, created: bool) -> OutcomeView:
    return OutcomeView(
        lead_id=row.lead_id, outcome=row.outcome, amount_recovered=row.amount_recovered,
        case_reference=row.case_reference, model_name=row.model_name,
        model_version=row.model_version, actor=row.actor, recorded_at=row.recorded_at,
        note=row.note, created=created,
    )


def _history_view(row: StatusChange) -> HistoryView:
    return HistoryView(from_status=row.from_status, to_status=row.to_status, actor=row.actor,
                       at=row.at, note=row.note)


def _score_view(row: LeadScore) -> ScoreView:
    return ScoreView(run_id=row.run_id, model_name=row.model_name, model_version=row.model_version,
                     score=row.score, probability=row.probability, rank=row.rank, as_of=row.as_of,
                     recorded_at=row.recorded_at)


def _assignment_view(row: Assignment) -> AssignmentView:
    return AssignmentView(unit=row.unit, assignee=row.assignee, deadline=row.deadline,
                          assigned_by=row.assigned_by, assigned_at=row.assigned_at)


def _audit_view(row: AuditEntry) -> AuditView:
    return AuditView(id=row.id, actor=row.actor, role=row.role, action=row.action,
                     object_type=row.object_type, object_id=row.object_id, at=row.at,
                     reason=row.reason, details=row.details)
