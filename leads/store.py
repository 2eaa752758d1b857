"""The lead store: the hand-over, verify, outcome loop (交办 - 核查 - 督办) with its rules.

Every public method is one transaction: it either applies entirely (with its history and audit
rows) or, when a rule refuses it, raises a :mod:`leads.errors` exception and changes nothing.
Writers lock the lead row first (``SELECT ... FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on
SQLite), so concurrent writers queue instead of overwriting each other.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from . import db, statuses
from .audit_writer import AuditRow, AuditWriter, add_rows, checked_details
from .calendar import LOCAL_TZ, local_day
from .errors import (
    IllegalTransition,
    InvalidValue,
    MissingActor,
    OutcomeConflict,
    UnknownLead,
)
from .models import Assignment, AuditEntry, Lead, LeadScore, Outcome, StatusChange
from .reads import Clock, LeadReader, check_lead_id, outcome_view, utc_now
from .records import LeadView, OutcomeView, UpsertResult
from .runs import LeadInput, LeadRun, validate_run
from .txn import run_transaction

__all__ = ["LOCAL_TZ", "Clock", "LeadStore", "local_day", "utc_now"]
T = TypeVar("T")
CHUNK = 500


def _actor(actor: object) -> str:
    """The acting person or system, stripped; missing or blank is refused."""
    if not isinstance(actor, str) or not actor.strip():
        raise MissingActor()
    return actor.strip()


def _required_text(field: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(field, value, "must be a non-empty string")
    return value.strip()


def _amount(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValue("amount_recovered", value, "must be a number")
    if not math.isfinite(value) or value < 0:
        raise InvalidValue("amount_recovered", value, "must be finite and >= 0")
    return round(float(value), 2)


class LeadStore(LeadReader):
    """Leads and their life cycle over a SQLAlchemy engine (SQLite or PostgreSQL); the reads
    (get, detail, list_leads, overdue, outcomes, audit_entries) come from
    :class:`leads.reads.LeadReader`.

    ``clock`` returns the current time as an aware datetime; the simulated verifier passes a
    simulated clock so that a season of verification plays out in seconds.
    """

    def __init__(self, engine: Engine, clock: Clock | None = None, owns_engine: bool = False):
        super().__init__(engine, clock)
        self._owns_engine = owns_engine
        self._writes = sessionmaker(bind=db.writer(engine), expire_on_commit=False)
        self._audit_writer = AuditWriter(self._write_audit_rows)

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
        """Write the queued audit rows, then release the connections (only when this store
        created the engine)."""
        self._audit_writer.close()
        if self._owns_engine:
            self.engine.dispose()

    def transaction(self, operation: Callable[[Session], T]) -> T:
        """Run ``operation`` as one write transaction with the store's lock and retry rules."""
        return run_transaction(self._writes, operation)

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
        self._audit(
            session,
            actor,
            "upsert_leads",
            "run",
            run.run_id,
            now,
            details={"scenario": run.scenario, "model_version": run.model_version, **counts},
        )
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
                .order_by(Lead.id)  # one lock order for every writer: fewer deadlocks
                .with_for_update()
            )
            found.update({lead.entity_id: lead for lead in session.scalars(query)})
        return found

    def _create_lead(
        self, session: Session, run: LeadRun, item: LeadInput, actor: str, now: datetime
    ) -> Lead:
        lead = Lead(
            scenario=run.scenario,
            entity_id=item.entity_id,
            district=item.district,
            model_name=run.model_name,
            model_version=run.model_version,
            run_id=run.run_id,
            score=float(item.score),
            probability=item.probability,
            rank=item.rank,
            reasons=item.reasons,
            as_of=run.as_of,
            created_at=now,
            updated_at=now,
            status=statuses.NEW,
            status_changed_at=now,
            amount=item.amount,
            amount_unit=item.amount_unit,
            probability_low=item.probability_low,
            probability_high=item.probability_high,
        )
        session.add(lead)
        session.flush()
        session.add(
            StatusChange(
                lead_id=lead.id,
                from_status=None,
                to_status=statuses.NEW,
                actor=actor,
                at=now,
                note=f"issued by run {run.run_id}",
            )
        )
        return lead

    @staticmethod
    def _rescore(lead: Lead, run: LeadRun, item: LeadInput, now: datetime) -> None:
        """Point the open lead at the newer run (the old values stay in lead_scores)."""
        lead.score, lead.probability, lead.rank = float(item.score), item.probability, item.rank
        lead.reasons, lead.as_of, lead.run_id = item.reasons, run.as_of, run.run_id
        lead.model_name, lead.model_version, lead.updated_at = (
            run.model_name,
            run.model_version,
            now,
        )
        lead.amount, lead.amount_unit = item.amount, item.amount_unit
        lead.probability_low, lead.probability_high = item.probability_low, item.probability_high

    @staticmethod
    def _add_score(
        session: Session, lead: Lead, run: LeadRun, item: LeadInput, now: datetime
    ) -> None:
        session.add(
            LeadScore(
                lead_id=lead.id,
                run_id=run.run_id,
                model_name=run.model_name,
                model_version=run.model_version,
                score=float(item.score),
                probability=item.probability,
                rank=item.rank,
                reasons=item.reasons,
                as_of=run.as_of,
                recorded_at=now,
            )
        )

    # ----------------------------------------------------------------- life cycle
    def dispatch(
        self,
        lead_id: int,
        *,
        unit: str,
        assignee: str,
        deadline: date,
        actor: str,
        note: str | None = None,
        role: str | None = None,
    ) -> LeadView:
        """Hand a lead to a unit and an assignee with a deadline (交办). A dispatched lead may be
        dispatched again (re-assigned or given a new deadline when chased); a deadline before
        today is refused."""
        lead_id, who = check_lead_id(lead_id), _actor(actor)
        unit, assignee = _required_text("unit", unit), _required_text("assignee", assignee)
        if not isinstance(deadline, date) or isinstance(deadline, datetime):
            raise InvalidValue("deadline", deadline, "must be a date (YYYY-MM-DD)", lead_id)
        if deadline < self.today():
            raise InvalidValue(
                "deadline",
                deadline.isoformat(),
                f"is in the past (today is {self.today().isoformat()})",
                lead_id,
            )

        def operation(session: Session) -> LeadView:
            now = self.now()
            lead = self._locked(session, lead_id)
            self._move(session, lead, statuses.DISPATCHED, who, now, note)
            lead.unit, lead.assignee, lead.deadline = unit, assignee, deadline
            session.add(
                Assignment(
                    lead_id=lead.id,
                    unit=unit,
                    assignee=assignee,
                    deadline=deadline,
                    assigned_by=who,
                    assigned_at=now,
                )
            )
            self._audit(
                session,
                who,
                "dispatch",
                "lead",
                str(lead.id),
                now,
                role=role,
                reason=note,
                details={"unit": unit, "assignee": assignee, "deadline": deadline.isoformat()},
            )
            return self._view(lead)

        return run_transaction(self._writes, operation)

    def start_verification(
        self, lead_id: int, *, actor: str, note: str | None = None, role: str | None = None
    ) -> LeadView:
        """The assigned unit starts verifying (核查) a dispatched lead."""
        lead_id, who = check_lead_id(lead_id), _actor(actor)

        def operation(session: Session) -> LeadView:
            now = self.now()
            lead = self._locked(session, lead_id)
            self._move(session, lead, statuses.VERIFYING, who, now, note)
            self._audit(
                session,
                who,
                "start_verification",
                "lead",
                str(lead.id),
                now,
                role=role,
                reason=note,
            )
            return self._view(lead)

        return run_transaction(self._writes, operation)

    def record_outcome(
        self,
        lead_id: int,
        *,
        outcome: str,
        actor: str,
        amount_recovered: float = 0.0,
        case_reference: str | None = None,
        note: str | None = None,
        role: str | None = None,
    ) -> OutcomeView:
        """Record the verified result of a lead in ``verifying``; it becomes its final status.

        Idempotent: recording the same outcome (status, amount, case reference) again returns
        the stored one with ``created=False``; a different outcome is refused.
        """
        lead_id, who = check_lead_id(lead_id), _actor(actor)
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
            row = Outcome(
                lead_id=lead.id,
                outcome=outcome,
                amount_recovered=amount,
                case_reference=reference,
                model_name=lead.model_name,
                model_version=lead.model_version,
                actor=who,
                recorded_at=now,
                note=note,
            )
            session.add(row)
            self._audit(
                session,
                who,
                "record_outcome",
                "lead",
                str(lead.id),
                now,
                role=role,
                reason=note,
                details={
                    "outcome": outcome,
                    "amount_recovered": amount,
                    "case_reference": reference,
                },
            )
            return outcome_view(row, created=True)

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
        return outcome_view(existing, created=False)

    def _locked(self, session: Session, lead_id: int) -> Lead:
        """The lead row, locked until the transaction ends; unknown ids are refused."""
        lead = session.scalar(select(Lead).where(Lead.id == lead_id).with_for_update())
        if lead is None:
            raise UnknownLead(lead_id)
        return lead

    def _move(
        self,
        session: Session,
        lead: Lead,
        to_status: str,
        actor: str,
        now: datetime,
        note: str | None,
    ) -> None:
        """Change the lead's status if its life cycle allows it, with a history row."""
        allowed = statuses.allowed_next(lead.status)
        if to_status not in allowed:
            raise IllegalTransition(lead.id, lead.status, to_status, allowed)
        session.add(
            StatusChange(
                lead_id=lead.id,
                from_status=lead.status,
                to_status=to_status,
                actor=actor,
                at=now,
                note=note,
            )
        )
        lead.status, lead.status_changed_at, lead.updated_at = to_status, now, now

    # ----------------------------------------------------------------- audit
    def audit(
        self,
        *,
        actor: str,
        action: str,
        object_type: str,
        object_id: str | None = None,
        role: str | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Append an audit entry for something done outside the store (a read, an export) and
        return once it is committed; :class:`leads.errors.AuditUnavailable` when it could not
        be. Concurrent callers share commits (:mod:`leads.audit_writer`).

        Changes made through the store are audited by the store itself, in their transaction."""
        row = AuditRow(
            actor=_actor(actor),
            action=_required_text("action", action),
            object_type=_required_text("object_type", object_type),
            object_id=object_id,
            at=self.now(),
            role=role,
            reason=reason,
            details=checked_details(details),
        )
        self._audit_writer.write(row)

    def _write_audit_rows(self, rows: Sequence[AuditRow]) -> None:
        """One transaction for the rows the audit writer batched."""
        run_transaction(self._writes, lambda s: add_rows(s, rows))

    @staticmethod
    def _audit(
        session: Session,
        actor: str,
        action: str,
        object_type: str,
        object_id: str | None,
        at: datetime,
        *,
        role: str | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        session.add(
            AuditEntry(
                actor=actor,
                role=role,
                action=action,
                object_type=object_type,
                object_id=object_id,
                at=at,
                reason=reason,
                details=details or {},
            )
        )
