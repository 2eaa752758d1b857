"""The lead life cycle rules, on SQLite and PostgreSQL: every transition, idempotent outcomes,
deduplication of re-flagged entities, overdue, and bad input that must change nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from leads_fixtures import ManualClock, advance_to, make_run, snapshot
from sqlalchemy import select

from leads import statuses
from leads.errors import (
    IllegalTransition,
    InvalidValue,
    MissingActor,
    OutcomeConflict,
    UnknownLead,
    UnknownStatus,
)
from leads.models import Assignment, StatusChange
from leads.store import LeadStore

FROM_STATUSES = statuses.STATUSES


def _attempt(store: LeadStore, lead_id: int, target: str) -> object:
    """Try to move a lead to ``target`` through the operation that does so."""
    if target == statuses.DISPATCHED:
        return store.dispatch(
            lead_id,
            unit="u",
            assignee="a",
            deadline=store.today() + timedelta(days=7),
            actor="head",
        )
    if target == statuses.VERIFYING:
        return store.start_verification(lead_id, actor="a")
    return store.record_outcome(lead_id, outcome=target, actor="a", amount_recovered=0.0)


@pytest.mark.parametrize("origin", FROM_STATUSES)
def test_every_transition_from(store: LeadStore, origin: str) -> None:
    """From each status, every target is either applied (legal) or refused naming both ends."""
    targets = [s for s in statuses.STATUSES if s != statuses.NEW]
    run = make_run("r1", [f"E{i}" for i in range(len(targets))])
    ids = store.upsert_leads(run).lead_ids
    for lead_id, target in zip(ids, targets, strict=True):
        advance_to(store, lead_id, origin)
        before = snapshot(store.engine)
        legal = target in statuses.TRANSITIONS[origin]
        if legal:
            _attempt(store, lead_id, target)
            assert store.get(lead_id).status == target
            assert store.detail(lead_id).history[-1].to_status == target
        elif origin == target and origin in statuses.OUTCOMES:
            assert _attempt(store, lead_id, target).created is False  # idempotent repeat
            assert snapshot(store.engine) == before
        else:
            expected = (
                OutcomeConflict
                if origin in statuses.OUTCOMES and target in statuses.OUTCOMES
                else IllegalTransition
            )
            with pytest.raises(expected) as info:
                _attempt(store, lead_id, target)
            assert str(lead_id) in str(info.value)
            if expected is IllegalTransition:
                assert repr(origin) in str(info.value) and repr(target) in str(info.value)
                assert info.value.from_status == origin and info.value.to_status == target
            assert snapshot(store.engine) == before


def test_full_loop_keeps_history_and_audit(store: LeadStore, clock: ManualClock) -> None:
    (lead_id,) = store.upsert_leads(make_run("r1", ["E1"]), actor="trainer").lead_ids
    store.dispatch(
        lead_id,
        unit="Haidian unit",
        assignee="Li",
        deadline=date(2026, 3, 20),
        actor="head",
        note="priority",
    )
    clock.advance(days=2)
    store.start_verification(lead_id, actor="Li")
    clock.advance(days=5)
    out = store.record_outcome(
        lead_id,
        outcome="case_filed",
        amount_recovered=1_250_000.5,
        case_reference="京海检 2026-17",
        actor="Li",
        note="confirmed",
    )
    assert out.created and out.model_version == "1"
    detail = store.detail(lead_id)
    steps = [(h.from_status, h.to_status, h.actor) for h in detail.history]
    assert steps == [
        (None, "new", "trainer"),
        ("new", "dispatched", "head"),
        ("dispatched", "verifying", "Li"),
        ("verifying", "case_filed", "Li"),
    ]
    assert [h.at for h in detail.history] == sorted(h.at for h in detail.history)
    assert detail.assignments[0].assignee == "Li" and detail.assignments[0].assigned_by == "head"
    assert detail.outcome.case_reference == "京海检 2026-17"
    assert detail.outcome.amount_recovered == pytest.approx(1_250_000.5)
    actions = [e.action for e in store.audit_entries()]
    assert actions == ["record_outcome", "start_verification", "dispatch", "upsert_leads"]
    assert store.audit_entries("lead", str(lead_id))[-1].reason == "priority"


def test_same_outcome_twice_is_one_outcome(store: LeadStore) -> None:
    (lead_id,) = store.upsert_leads(make_run("r1", ["E1"])).lead_ids
    advance_to(store, lead_id, "verifying")
    first = store.record_outcome(lead_id, outcome="no_case", actor="Li", case_reference=" X1 ")
    second = store.record_outcome(lead_id, outcome="no_case", actor="Zhao", case_reference="X1")
    assert first.created and not second.created and second.actor == "Li"
    assert len(store.outcomes()) == 1
    assert sum(h.to_status == "no_case" for h in store.detail(lead_id).history) == 1
    with pytest.raises(OutcomeConflict, match="already has outcome"):
        store.record_outcome(
            lead_id, outcome="no_case", actor="Li", amount_recovered=5.0, case_reference="X1"
        )


def test_reflagged_entity_updates_its_open_lead(store: LeadStore) -> None:
    first = store.upsert_leads(make_run("r1", ["E1", "E2"], scores=[0.9, 0.4]))
    second = store.upsert_leads(make_run("r2", ["E2", "E3"], version="2", scores=[0.8, 0.7]))
    assert (first.created, second.created, second.updated) == (2, 1, 1)
    assert second.lead_ids[0] == first.lead_ids[1]
    e2 = store.detail(first.lead_ids[1])
    assert (e2.lead.score, e2.lead.model_version, e2.lead.rank, e2.lead.run_id) == (
        0.8,
        "2",
        1,
        "r2",
    )
    assert [(s.run_id, s.score, s.model_version) for s in e2.scores] == [
        ("r1", 0.4, "1"),
        ("r2", 0.8, "2"),
    ]
    assert store.count_leads() == 3
    again = store.upsert_leads(make_run("r2", ["E2", "E3"], version="2", scores=[0.8, 0.7]))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert len(store.detail(first.lead_ids[1]).scores) == 2


def test_closed_lead_is_not_reopened_a_new_one_is_issued(store: LeadStore) -> None:
    (old,) = store.upsert_leads(make_run("r1", ["E1"])).lead_ids
    advance_to(store, old, "no_case")
    (new,) = store.upsert_leads(make_run("r2", ["E1"], version="2")).lead_ids
    assert new != old
    assert store.get(old).status == "no_case" and store.get(new).status == "new"
    assert store.count_leads(scenario="fuel_tax") == 2
    # the same entity id in another scenario is a different lead
    (other,) = store.upsert_leads(make_run("r3", ["E1"], scenario="mortgage_loans")).lead_ids
    assert other not in (old, new)


def test_overdue_is_derived_from_the_deadline(store: LeadStore, clock: ManualClock) -> None:
    ids = store.upsert_leads(make_run("r1", ["A", "B", "C", "D"])).lead_ids
    advance_to(store, ids[0], "dispatched", deadline_days=3)
    advance_to(store, ids[1], "verifying", deadline_days=1)
    advance_to(store, ids[2], "dispatched", deadline_days=30)
    advance_to(store, ids[3], "verifying", deadline_days=0)
    assert store.overdue() == []
    clock.advance(days=1)  # the deadline day itself is not overdue yet
    assert store.overdue() == [store.get(ids[3])]
    clock.advance(days=4)
    late = store.overdue()
    assert [v.id for v in late] == [ids[3], ids[1], ids[0]]  # oldest deadline first
    assert [v.days_overdue for v in late] == [5, 4, 2]
    store.record_outcome(ids[1], outcome="invalid", actor="Wang")
    assert ids[1] not in [v.id for v in store.overdue()]
    assert store.count_leads(overdue=True) == 2 and store.count_leads(overdue=False) == 2
    # chasing (督办): a new deadline through re-dispatch clears the flag, with a trace
    store.dispatch(
        ids[0],
        unit="Haidian procuratorate",
        assignee="Wang",
        deadline=store.today() + timedelta(days=7),
        actor="chief",
        note="督办",
    )
    assert not store.get(ids[0]).overdue
    assert len(store.detail(ids[0]).assignments) == 2


def _bad_calls(store: LeadStore, lead_id: int) -> list[tuple[object, type, str]]:
    future = store.today() + timedelta(days=5)
    return [
        (
            lambda: store.dispatch(999, unit="u", assignee="a", deadline=future, actor="h"),
            UnknownLead,
            "lead_id",
        ),
        (lambda: store.record_outcome(999, outcome="no_case", actor="h"), UnknownLead, "lead_id"),
        (lambda: store.start_verification(999, actor="h"), UnknownLead, "lead_id"),
        (
            lambda: store.record_outcome(lead_id, outcome="closed", actor="h"),
            UnknownStatus,
            "outcome",
        ),
        (lambda: store.list_leads(status="archived"), UnknownStatus, "status"),
        (
            lambda: store.dispatch(lead_id, unit="u", assignee="a", deadline=future, actor=""),
            MissingActor,
            "actor",
        ),
        (lambda: store.start_verification(lead_id, actor=None), MissingActor, "actor"),
        (
            lambda: store.record_outcome(lead_id, outcome="no_case", actor="  "),
            MissingActor,
            "actor",
        ),
        (
            lambda: store.dispatch(
                lead_id,
                unit="u",
                assignee="a",
                deadline=store.today() - timedelta(days=1),
                actor="h",
            ),
            InvalidValue,
            "deadline",
        ),
        (
            lambda: store.dispatch(lead_id, unit="", assignee="a", deadline=future, actor="h"),
            InvalidValue,
            "unit",
        ),
        (
            lambda: store.record_outcome(
                lead_id, outcome="case_filed", actor="h", amount_recovered=-1.0
            ),
            InvalidValue,
            "amount_recovered",
        ),
        (
            lambda: store.record_outcome(
                lead_id, outcome="case_filed", actor="h", amount_recovered=float("nan")
            ),
            InvalidValue,
            "amount_recovered",
        ),
        (
            lambda: store.upsert_leads(make_run("r9", ["X", "X"])),
            InvalidValue,
            "leads[1].entity_id",
        ),
        (
            lambda: store.upsert_leads(make_run("r9", ["Y"], scores=[float("inf")])),
            InvalidValue,
            "leads[0].score",
        ),
        (lambda: store.upsert_leads(make_run("r9", ["Y"]), actor=""), MissingActor, "actor"),
    ]


def test_bad_input_is_refused_clearly_and_changes_nothing(store: LeadStore) -> None:
    ids = store.upsert_leads(make_run("r1", ["E1", "E2"])).lead_ids
    advance_to(store, ids[1], "verifying")
    before = snapshot(store.engine)
    for call, error, field in _bad_calls(store, ids[1]):
        with pytest.raises(error) as info:
            call()
        assert info.value.field == field, (str(info.value), field)
        assert field.split(".")[-1].split("[")[0] in str(info.value)
    assert snapshot(store.engine) == before


def test_deadline_today_is_accepted_and_past_deadline_names_today(store: LeadStore) -> None:
    (lead_id,) = store.upsert_leads(make_run("r1", ["E1"])).lead_ids
    with pytest.raises(InvalidValue, match=r"in the past \(today is 2026-03-02\)"):
        store.dispatch(lead_id, unit="u", assignee="a", deadline=date(2026, 3, 1), actor="h")
    view = store.dispatch(lead_id, unit="u", assignee="a", deadline=date(2026, 3, 2), actor="h")
    assert view.status == "dispatched" and not view.overdue


def test_history_is_append_only_per_change(store: LeadStore) -> None:
    (lead_id,) = store.upsert_leads(make_run("r1", ["E1"])).lead_ids
    for i in range(3):
        store.dispatch(
            lead_id,
            unit="u",
            assignee=f"a{i}",
            deadline=store.today() + timedelta(days=9),
            actor="h",
        )
    with store.reading() as session:
        history = session.scalars(select(StatusChange).where(StatusChange.lead_id == lead_id))
        moves = [(h.from_status, h.to_status) for h in history]
        assigned = session.scalars(select(Assignment.assignee).order_by(Assignment.id)).all()
    assert moves == [
        (None, "new"),
        ("new", "dispatched"),
        ("dispatched", "dispatched"),
        ("dispatched", "dispatched"),
    ]
    assert assigned == ["a0", "a1", "a2"]
    assert store.get(lead_id).assignee == "a2"


def test_list_filters_and_order(store: LeadStore) -> None:
    store.upsert_leads(
        make_run(
            "r1",
            ["A", "B", "C"],
            district=["Haidian", "Chaoyang", "Haidian"],
            scores=[0.2, 0.9, 0.5],
        )
    )
    store.upsert_leads(make_run("r2", ["Z"], scenario="fake_certificates", scores=[0.99]))
    assert [v.entity_id for v in store.list_leads(scenario="fuel_tax")] == ["B", "C", "A"]
    assert [v.entity_id for v in store.list_leads(district="Haidian")] == ["Z", "C", "A"]
    assert [v.entity_id for v in store.list_leads(limit=2, offset=1)] == ["B", "C"]
    assert store.count_leads(scenario="fuel_tax", status="new") == 3
