"""Routes for supervision staff: ranked leads, one lead explained with its evidence, the outcome.

A staff key reaches only its own district: lists are filtered to it, and a lead or a filter from
another district is refused. Personal ID numbers are masked in everything returned unless the
caller may reveal them and states why. Every read of a lead, every export and every change is
written to the lead store's audit log.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool

from . import access
from .amounts import amount_at_stake, amount_texts, expected_value
from .error_handling import ApiError
from .evidence_series import evidence_view
from .lead_rules import lead_rules
from .masking import PersonalColumns, mask_evidence, mask_value, personal_columns
from .query import known_query_only
from .schemas import ERROR_RESPONSES, AssignRequest, OutcomeRequest, StartRequest
from .security import Caller, require

router = APIRouter(
    prefix="/v1", responses=ERROR_RESPONSES, dependencies=[Depends(known_query_only)]
)

Status = Literal["new", "dispatched", "verifying", "case_filed", "no_case", "invalid"]
Sort = Annotated[
    Literal["score", "amount", "expected_value", "probability"],
    Query(
        description="order of the list, largest first: score (default, most suspicious), amount "
        "(amount at stake), expected_value (probability x amount) or probability; leads without "
        "the value come last, ties by score"
    ),
]
District = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z]+$")]
Scenario = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+$")]
LeadId = Annotated[int, PathParam(ge=1, le=2**62, description="lead id")]
CSV_COLUMNS = (
    "id",
    "scenario",
    "entity_id",
    "district",
    "score",
    "probability",
    "probability_low",
    "probability_high",
    "amount",
    "amount_unit",
    "rank",
    "status",
    "unit",
    "assignee",
    "deadline",
    "overdue",
    "model_name",
    "model_version",
    "as_of",
    "top_reason",
)
MAX_EXPORT = 100_000


def plain(value: Any) -> Any:
    """Views (frozen dataclasses with dates) as JSON-ready dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def shown(value: Any, reveal: bool) -> Any:
    """``value`` as plain JSON, with ID numbers masked unless revealed."""
    data = plain(value)
    return data if reveal else mask_value(data)


def scope_district(caller: Caller, district: str | None) -> str | None:
    """The district a list is filtered on: a staff key's own, whatever it asked for."""
    if caller.reach is access.Reach.ALL:
        return district
    if district is not None and district != caller.district:
        raise ApiError(403, f"district {district!r} is outside your district ({caller.district})")
    return caller.district


def visible_lead(ctx: Any, caller: Caller, lead_id: int) -> Any:
    """The lead if the caller may see it: unknown is 404, another district is 403."""
    lead = ctx.store.get(lead_id)
    caller.check_district(lead.district, f"lead {lead_id}")
    return lead


@router.get("/leads", summary="Ranked leads with filters and pagination")
async def list_leads(
    request: Request,
    caller: Annotated[Caller, Depends(require("leads.read"))],
    scenario: Scenario = None,
    district: District = None,
    status: Status | None = None,
    overdue: bool | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
    sort: Sort = "score",
) -> dict[str, Any]:
    """Most suspicious first, or by amount at stake / expected value (``sort``). Staff see
    their own district only. Each item has ``amount`` in ``amount_unit`` (both null: the model
    declares no estimate), ``expected_value`` and the probability's interval."""
    ctx = request.app.state.ctx
    filters = {
        "scenario": scenario,
        "district": scope_district(caller, district),
        "status": status,
        "overdue": overdue,
    }
    return await run_in_threadpool(lead_page, ctx, caller, filters, page, page_size, sort)


def lead_page(
    ctx: Any, caller: Caller, filters: dict[str, Any], page: int, page_size: int, sort: str
) -> dict[str, Any]:
    """One page of leads, counted, audited and named, in one worker-thread call: the event
    loop only parses and answers (a SQLite write waiting for its lock on the loop stalled every
    request, refusals included)."""
    total = ctx.store.count_leads(**filters)
    items = ctx.store.list_leads(
        **filters, limit=page_size, offset=(page - 1) * page_size, sort=sort
    )
    ctx.audit(
        caller,
        "list_leads",
        "leads",
        None,
        {**filters, "sort": sort, "page": page, "n": len(items)},
    )
    names = entity_names(ctx, items)
    return {
        "total": total,
        "page": page,
        "page_size": page_size,
        "sort": sort,
        "items": [
            {
                **shown(lead, reveal=False),
                "entity_name": names.get(lead.id),
                "expected_value": expected_value(lead),
                "amount_text": amount_texts(lead),
            }
            for lead in items
        ],
    }


def entity_names(ctx: Any, leads: list[Any]) -> dict[int, str | None]:
    """Lead id -> the agency's name of its entity (station, company; never a person)."""
    out: dict[int, str | None] = {}
    for scenario in {lead.scenario for lead in leads}:
        mine = [lead for lead in leads if lead.scenario == scenario]
        names = ctx.evidence_index.names(scenario, [lead.entity_id for lead in mine])
        out.update({lead.id: names.get(lead.entity_id) for lead in mine})
    return out


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A text cell a spreadsheet would read as a formula (``=HYPERLINK(...)``, ``+cmd|...``,
    ``@SUM``, a leading tab or CR) gets a single quote in front, so it is shown as text, never
    run; numbers (a negative score) pass as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_rows(leads: list[Any]) -> str:
    """Leads as CSV text (IDs masked, formulas neutralised), one row per lead, the top reason
    in plain language."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for lead in leads:
        data = mask_value(plain(lead))
        reasons = data.get("reasons") or []
        top = reasons[0].get("text", "") if reasons and isinstance(reasons[0], dict) else ""
        writer.writerow(
            [csv_cell(data.get(c, "") if c != "top_reason" else top) for c in CSV_COLUMNS]
        )
    return buffer.getvalue()


@router.get(
    "/leads/export.csv",
    summary="Export the filtered leads as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_leads(
    request: Request,
    caller: Annotated[Caller, Depends(require("leads.export"))],
    scenario: Scenario = None,
    district: District = None,
    status: Status | None = None,
    overdue: bool | None = None,
) -> Response:
    """Every matching lead (up to 100,000), IDs masked; the export is audited."""
    ctx = request.app.state.ctx
    filters = {
        "scenario": scenario,
        "district": scope_district(caller, district),
        "status": status,
        "overdue": overdue,
    }
    leads = await run_in_threadpool(lambda: ctx.store.list_leads(**filters, limit=MAX_EXPORT))
    await run_in_threadpool(
        ctx.audit, caller, "export_leads", "leads", None, {**filters, "n": len(leads)}
    )
    return Response(
        await run_in_threadpool(csv_rows, leads),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="leads.csv"'},
    )


def masked_evidence(scenario: str, evidence: dict[str, Any]) -> dict[str, Any]:
    """Source records masked by the scenario's personal-data declarations, then by shape.

    Records of a scenario without declarations cannot be masked by declaration: refused (503)
    rather than shown with the shape net alone."""
    if not evidence:
        return {}
    return mask_evidence(plain(evidence), declared_personal(scenario))


def declared_personal(scenario: str) -> PersonalColumns:
    """The scenario's personal columns by declaration; 503 when it has no declarations."""
    # deferred: keeps the model declarations off the service's import (cold start)
    from features.registry import UnknownScenarioError

    try:
        return personal_columns(scenario)
    except UnknownScenarioError as exc:
        raise ApiError(
            503, f"no source declarations for scenario {scenario!r}: its records cannot be masked"
        ) from exc


def shown_evidence(ctx: Any, scenario: str, entity_id: str, reveal: bool) -> dict[str, Any]:
    """The entity's source records as a lead detail shows them: as stored when revealed, else
    masked, the masked view kept with the evidence index (made once per entity and pool
    version and declarations; staff open the same leads again and again)."""
    if reveal:
        return plain(ctx.evidence(scenario, entity_id))
    declared = declared_personal(scenario)
    return ctx.evidence_index.view(
        scenario,
        entity_id,
        ("masked", repr(declared)),
        lambda records: masked_evidence(scenario, records),
    )


def check_reveal(caller: Caller, reveal: bool, reason: str | None) -> None:
    """Revealing ID numbers needs the permission and a stated reason."""
    if not reveal:
        return
    if access.reach("ids.reveal", caller.role) is None:
        raise ApiError(403, f"role {caller.role!r} may not reveal ID numbers")
    if not reason or len(reason.strip()) < 5:
        raise ApiError(
            422,
            "reveal=true needs a reason (at least 5 characters)",
            [{"loc": ["query", "reason"], "msg": "a stated reason is required", "type": "missing"}],
        )


@router.get("/leads/{lead_id}", summary="One lead: reasons, evidence, history")
async def lead_detail(
    lead_id: LeadId,
    request: Request,
    caller: Annotated[Caller, Depends(require("leads.read"))],
    reveal: Annotated[
        bool,
        Query(
            description="show personal data unmasked; needs the ids.reveal permission and a reason"
        ),
    ] = False,
    reason: Annotated[
        str | None,
        Query(
            max_length=500,
            description="why personal data is revealed: required with "
            "reveal=true, at least 5 characters (422 otherwise); written to the audit log",
        ),
    ] = None,
) -> dict[str, Any]:
    """The lead with its reasons, the source records behind it, its status history,
    assignments, scores and outcome. ID numbers are masked unless ``reveal=true&reason=...``."""
    ctx = request.app.state.ctx
    check_reveal(caller, reveal, reason)
    return await run_in_threadpool(lead_body, ctx, caller, lead_id, reveal, reason)


def lead_body(
    ctx: Any, caller: Caller, lead_id: int, reveal: bool, reason: str | None
) -> dict[str, Any]:
    """The lead detail, in one worker-thread call (store reads, evidence from the index built
    at model load, the audit write, masking): the event loop only parses and answers."""
    lead = visible_lead(ctx, caller, lead_id)
    detail = ctx.store.detail(lead_id)
    evidence = shown_evidence(ctx, lead.scenario, lead.entity_id, reveal)
    ctx.audit(
        caller,
        "read_lead_revealed" if reveal else "read_lead",
        "lead",
        str(lead_id),
        None,
        reason=reason if reveal else None,
    )
    body = shown(detail, reveal)
    body["evidence"] = evidence
    body["entity_name"] = entity_names(ctx, [lead]).get(lead.id)
    body["revealed"] = reveal
    body["rules"] = lead_rules(ctx.features, lead.scenario, lead.entity_id)
    body["amount_at_stake"] = amount_at_stake(lead)
    return body


@router.get("/leads/{lead_id}/evidence", summary="One lead's evidence charts")
async def lead_evidence(
    lead_id: LeadId,
    request: Request,
    caller: Annotated[Caller, Depends(require("leads.read"))],
) -> dict[str, Any]:
    """The lead's declared evidence view: per series its dated values for this entity
    (monthly quantities or events on one time line) and the entity's value of the declared
    peer features against its peer group (histogram, quartiles, percentile). Aggregates only,
    no personal data; the read is audited. Computed once per pool version for every entity."""
    return await run_in_threadpool(evidence_body, request.app.state, caller, lead_id)


def evidence_body(state: Any, caller: Caller, lead_id: int) -> dict[str, Any]:
    """The evidence charts, in one worker-thread call: the audit write waits for its commit
    there, never on the event loop."""
    ctx = state.ctx
    lead = visible_lead(ctx, caller, lead_id)
    view = evidence_view(state, lead.scenario, lead.entity_id)
    ctx.audit(caller, "read_lead_evidence", "lead", str(lead_id), None)
    return {"lead_id": lead_id, "scenario": lead.scenario, "evidence_view": view}


@router.post("/leads/{lead_id}/assign", summary="Hand the lead to a unit (交办)")
async def assign(
    lead_id: LeadId,
    body: AssignRequest,
    request: Request,
    caller: Annotated[Caller, Depends(require("leads.write"))],
) -> dict[str, Any]:
    """Dispatch with unit, assignee and deadline; recorded in the history and audit log."""
    ctx = request.app.state.ctx
    await run_in_threadpool(visible_lead, ctx, caller, lead_id)
    lead = await run_in_threadpool(
        lambda: ctx.store.dispatch(
            lead_id,
            unit=body.unit,
            assignee=body.assignee,
            deadline=body.deadline,
            actor=caller.actor,
            note=body.note,
            role=caller.role,
        )
    )
    return shown(lead, reveal=False)


@router.post("/leads/{lead_id}/start", summary="Start verifying the lead (核查)")
async def start(
    lead_id: LeadId,
    body: StartRequest,
    request: Request,
    caller: Annotated[Caller, Depends(require("leads.write"))],
) -> dict[str, Any]:
    """Move a dispatched lead to ``verifying``."""
    ctx = request.app.state.ctx
    await run_in_threadpool(visible_lead, ctx, caller, lead_id)
    lead = await run_in_threadpool(
        lambda: ctx.store.start_verification(
            lead_id, actor=caller.actor, note=body.note, role=caller.role
        )
    )
    return shown(lead, reveal=False)


@router.post("/leads/{lead_id}/outcome", summary="Record the verified outcome")
async def outcome(
    lead_id: LeadId,
    body: OutcomeRequest,
    request: Request,
    caller: Annotated[Caller, Depends(require("leads.write"))],
) -> dict[str, Any]:
    """Case filed, no case or invalid; repeating the same outcome is harmless, a different
    one is a 409."""
    ctx = request.app.state.ctx
    await run_in_threadpool(visible_lead, ctx, caller, lead_id)
    result = await run_in_threadpool(
        lambda: ctx.store.record_outcome(
            lead_id,
            outcome=body.outcome,
            amount_recovered=body.amount_recovered,
            case_reference=body.case_reference,
            actor=caller.actor,
            note=body.note,
            role=caller.role,
        )
    )
    return shown(result, reveal=False)
