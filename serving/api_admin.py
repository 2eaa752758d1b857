"""Routes for data scientists and administrators: the model ledger, the audit log, API keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from .api_leads import plain
from .masking import mask_value
from .query import known_query_only
from .schemas import ERROR_RESPONSES, KeyRequest, KeyResponse, Principal
from .security import Caller, require

router = APIRouter(
    prefix="/v1", responses=ERROR_RESPONSES, dependencies=[Depends(known_query_only)]
)


@router.get("/ledger", summary="The model ledger (模型台账)")
async def ledger(
    request: Request, caller: Annotated[Caller, Depends(require("ledger.read"))]
) -> list[dict[str, Any]]:
    """Every scenario and version: lifecycle, approvals, offline metrics, leads, verified,
    cases and conversion."""
    ctx = request.app.state.ctx
    rows = await run_in_threadpool(ctx.ledger)
    await run_in_threadpool(ctx.audit, caller, "read_ledger", "ledger", None, {"rows": len(rows)})
    return plain(rows)


@router.get("/audit", summary="The audit log, newest first")
async def audit_log(
    request: Request,
    _: Annotated[Caller, Depends(require("audit.read"))],
    object_type: Annotated[str | None, Query(max_length=64)] = None,
    object_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[dict[str, Any]]:
    """Who read or changed what, when, and the reason they gave (IDs masked)."""
    store = request.app.state.ctx.store
    entries = await run_in_threadpool(
        lambda: store.audit_entries(object_type=object_type, object_id=object_id, limit=limit)
    )
    return mask_value(plain(entries))


@router.post("/keys", response_model=KeyResponse, status_code=201, summary="Issue an API key")
async def create_key(
    body: KeyRequest, request: Request, caller: Annotated[Caller, Depends(require("keys.manage"))]
) -> KeyResponse:
    """The secret is in this answer only; the store keeps its hash."""
    # deferred: the key tools load only when an admin creates a key
    from leads.auth import create_api_key

    store = request.app.state.ctx.store
    key_id, secret = await run_in_threadpool(
        lambda: create_api_key(
            store, name=body.name, role=body.role, district=body.district, actor=caller.actor
        )
    )
    return KeyResponse(key_id=key_id, secret=secret, role=body.role, district=body.district)


@router.get("/whoami", response_model=Principal, summary="The caller's key, role and district")
async def whoami(caller: Annotated[Caller, Depends(require("whoami"))]) -> Principal:
    """Used by the web page to show who is logged in and which district they see."""
    return Principal(
        key_id=caller.key_id, name=caller.name, role=caller.role, district=caller.district
    )
