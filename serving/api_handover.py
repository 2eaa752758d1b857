"""Routes for the hand-over document (线索移送): one lead or a batch, as a page or a PDF.

Producing a hand-over document is audited like a read (with the reveal reason when IDs are
shown); a staff key can hand over only its own district's leads; the language is ``?lang=``
or the browser's, Chinese by default.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from . import handover
from .api_leads import LeadId, check_reveal, masked_evidence, shown, visible_lead
from .error_handling import ApiError
from .evidence_series import evidence_view
from .i18n import language, message
from .query import known_query_only
from .schemas import ERROR_RESPONSES
from .security import Caller, require

router = APIRouter(
    prefix="/v1", responses=ERROR_RESPONSES, dependencies=[Depends(known_query_only)]
)
MAX_BATCH = 50
Lang = Annotated[str | None, Query(pattern=r"^(zh|en)$", description="zh (default) or en")]
Reason = Annotated[str | None, Query(max_length=500)]
PDF: dict[int | str, dict[str, Any]] = {200: {"content": {"application/pdf": {}}}}
HTML: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {}}}}


def batch_ids(ids: str, lang: str) -> list[int]:
    """``1,2,3`` as lead numbers; anything else is a 422 naming the field."""
    try:
        out = [int(part) for part in ids.split(",") if part.strip()]
    except ValueError:
        out = []
    if not out or len(out) > MAX_BATCH or any(i < 1 for i in out):
        raise ApiError(
            422,
            message(lang, "error.ids", max=MAX_BATCH),
            [
                {
                    "loc": ["query", "ids"],
                    "msg": "comma-separated lead numbers",
                    "type": "value_error",
                }
            ],
        )
    return list(dict.fromkeys(out))


def _ledger_row(ctx: Any, model_name: str, version: str) -> dict[str, Any] | None:
    for row in ctx.ledger():
        name = row.get("model_name") or f"supervision-{row.get('scenario')}"
        if name == model_name and str(row.get("version")) == str(version):
            return row
    return None


def _page(
    state: Any, caller: Caller, lead_ids: list[int], lang: str, reveal: bool, reason: str | None
) -> str:
    """The document for the leads (checked one by one against the caller's district)."""
    ctx = state.ctx
    forms = []
    for lead_id in lead_ids:
        lead = visible_lead(ctx, caller, lead_id)
        detail = shown(ctx.store.detail(lead_id), reveal)
        records = ctx.evidence(lead.scenario, lead.entity_id)
        # personal columns masked by their declared meaning, then by shape (as in lead detail)
        evidence = shown(records, True) if reveal else masked_evidence(lead.scenario, records)
        name = ctx.evidence_index.names(lead.scenario, [lead.entity_id]).get(lead.entity_id)
        row = _ledger_row(ctx, lead.model_name, lead.model_version)
        charts = evidence_view(state, lead.scenario, lead.entity_id)
        forms.append(handover.lead_form(detail, evidence, lang, row, name, charts))
    return handover.document(forms, lang, caller.actor, reason if reveal else None)


async def _produce(
    request: Request,
    caller: Caller,
    lead_ids: list[int],
    lang: str,
    reveal: bool,
    reason: str | None,
    pdf: bool,
) -> Response:
    ctx = request.app.state.ctx
    check_reveal(caller, reveal, reason)
    page = await run_in_threadpool(_page, request.app.state, caller, lead_ids, lang, reveal, reason)
    await run_in_threadpool(
        ctx.audit,
        caller,
        "handover_revealed" if reveal else "handover",
        "lead",
        ",".join(map(str, lead_ids)),
        {"format": "pdf" if pdf else "html", "lang": lang},
        reason=reason if reveal else None,
    )
    if not pdf:
        return Response(page, media_type="text/html; charset=utf-8")
    try:
        body = await run_in_threadpool(handover.render_pdf, page)
    except handover.RenderError as exc:
        raise ApiError(503, message(lang, "error.pdf_failed", detail=str(exc))) from exc
    name = f"handover-{lead_ids[0]}" + (f"-{len(lead_ids)}" if len(lead_ids) > 1 else "")
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
    )


def _lang(request: Request, lang: str | None) -> str:
    return language(lang, request.headers.get("accept-language"))


@router.get(
    "/leads/{lead_id}/handover.pdf",
    summary="Hand-over form of one lead (PDF)",
    response_class=Response,
    responses=PDF,
)
async def handover_pdf(
    lead_id: LeadId,
    request: Request,
    caller: Annotated[Caller, Depends(require("leads.read"))],
    lang: Lang = None,
    reveal: bool = False,
    reason: Reason = None,
) -> Response:
    """线索移送表 printed by Chromium; IDs masked unless ``reveal=true&reason=...``."""
    return await _produce(request, caller, [lead_id], _lang(request, lang), reveal, reason, True)


@router.get(
    "/leads/{lead_id}/handover.html",
    summary="Hand-over form of one lead (page)",
    response_class=Response,
    responses=HTML,
)
async def handover_page(
    lead_id: LeadId,
    request: Request,
    caller: Annotated[Caller, Depends(require("leads.read"))],
    lang: Lang = None,
    reveal: bool = False,
    reason: Reason = None,
) -> Response:
    """The printable page the PDF is made from."""
    return await _produce(request, caller, [lead_id], _lang(request, lang), reveal, reason, False)


@router.get(
    "/handover.pdf",
    summary="Hand-over forms of a batch of leads (PDF)",
    response_class=Response,
    responses=PDF,
)
async def handover_batch_pdf(
    request: Request,
    caller: Annotated[Caller, Depends(require("leads.read"))],
    ids: Annotated[str, Query(max_length=1000)],
    lang: Lang = None,
    reveal: bool = False,
    reason: Reason = None,
) -> Response:
    """One form per lead (``ids=1,2,3``, up to 50), one page each."""
    chosen = _lang(request, lang)
    return await _produce(request, caller, batch_ids(ids, chosen), chosen, reveal, reason, True)


@router.get(
    "/handover.html",
    summary="Hand-over forms of a batch of leads (page)",
    response_class=Response,
    responses=HTML,
)
async def handover_batch_page(
    request: Request,
    caller: Annotated[Caller, Depends(require("leads.read"))],
    ids: Annotated[str, Query(max_length=1000)],
    lang: Lang = None,
    reveal: bool = False,
    reason: Reason = None,
) -> Response:
    """The printable page of a batch."""
    chosen = _lang(request, lang)
    return await _produce(request, caller, batch_ids(ids, chosen), chosen, reveal, reason, False)
