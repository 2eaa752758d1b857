"""Routes for other systems and data scientists: score a batch, see and refresh the served models.

Scoring a batch runs in a worker thread (LightGBM and SHAP release the GIL); a few rows (a staff
screen's single entity) are scored on the event loop, where they take well under a millisecond,
less than the hand-off to a thread and back. The answer is serialised by pydantic-core straight
from plain lists, because a 100,000-row answer built as pydantic objects would cost more than the
scoring itself.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import pandas as pd
import pydantic_core
from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from .champions import ServedModel
from .error_handling import ApiError
from .limits import key_of, retry_after
from .query import known_query_only
from .schemas import ERROR_RESPONSES, Health, LoadedModel, ScoreColumns, ScoreRequest, ScoreResponse
from .score_arrow import MEDIA_TYPE as ARROW_MEDIA_TYPE
from .score_arrow import arrow_answer
from .scoring import frame_from_rows, ranked, select_entities, values_from_rows
from .security import Caller, require

log = logging.getLogger("serving.score")
DECIMALS = 6  # scores in answers; ranks and percentiles come from full precision
#: batches of at most this many rows (ids or feature rows) are scored on the event loop
INLINE_ROWS = 8
router = APIRouter(
    prefix="/v1", responses=ERROR_RESPONSES, dependencies=[Depends(known_query_only)]
)


def model_ref(served: ServedModel) -> dict[str, Any]:
    """The version stamp every scored answer carries."""
    return {
        "name": served.name,
        "version": served.version,
        "alias": served.alias,
        "run_id": served.run_id,
    }


def batch_frame(ctx: Any, req: ScoreRequest, served: ServedModel) -> pd.DataFrame:
    """The rows to score, from the request or from the latest feature table, as a frame (the
    reference the scoring path's :func:`batch_rows` is tested against)."""
    if req.rows is not None:
        return frame_from_rows(req.rows, served.columns)
    table = ctx.features.table(req.scenario)
    if req.entity_ids is not None:
        return select_entities(table, req.entity_ids)
    return table


@dataclass(frozen=True, eq=False)
class Batch:
    """The rows of one request: entity ids and their features as a float64 matrix in the
    served model's column order."""

    ids: list[str]
    values: np.ndarray

    def frame(self, columns: tuple[str, ...]) -> pd.DataFrame:
        """The rows as a frame indexed by entity id (what :func:`batch_frame` gives)."""
        return pd.DataFrame(
            self.values, columns=list(columns), index=pd.Index(self.ids, name="entity_id")
        )


def batch_rows(ctx: Any, req: ScoreRequest, served: ServedModel) -> Batch:
    """The rows to score, from the request or read from the latest feature table's matrix
    (built at model load): a dict lookup and a row slice per entity, no pandas indexing."""
    if req.rows is not None:
        return Batch(*values_from_rows(req.rows, served.columns))
    matrix = ctx.features.matrix(req.scenario, served.columns)
    if req.entity_ids is not None:
        return Batch(list(req.entity_ids), matrix.values[matrix.positions(req.entity_ids)])
    return Batch(matrix.ids, matrix.values)


def check_explain(budget: Any, key: str | None, req: ScoreRequest, rows: int) -> None:
    """Refuse more explained rows than one request may ask for (422 naming the field and the
    limit), or than the key has left this minute (429 with Retry-After)."""
    field, asked = (
        ("explain_all", rows) if req.explain_all else ("explain_top", min(req.explain_top, rows))
    )
    if asked > budget.max_rows:
        raise ApiError(
            422,
            f"{field} asks for {asked} explained rows; the limit is "
            f"{budget.max_rows} per request (SERVING_EXPLAIN_MAX_ROWS)",
            [
                {
                    "loc": ["body", field],
                    "msg": f"at most {budget.max_rows} rows explained per request",
                    "type": "less_than_equal",
                }
            ],
        )
    if asked and key is not None:
        wait = budget.per_key.take(key, asked)
        if wait > 0:
            per_minute = budget.per_minute
            raise ApiError(
                429,
                f"{field}: {asked} explained rows would pass this key's limit of "
                f"{per_minute:g} per minute (SERVING_EXPLAIN_ROWS_PER_MINUTE)",
                headers={"Retry-After": retry_after(wait)},
            )


def score_batch(
    ctx: Any,
    req: ScoreRequest,
    timings: dict[str, float] | None = None,
    budget: Any = None,
    key: str | None = None,
    as_lists: bool = True,
) -> dict[str, Any]:
    """Score every row, explain the rows asked for, and shadow-score with the challenger.

    ``timings`` (if given) receives the seconds spent scoring and explaining; ``budget`` (if
    given) caps the rows explained for ``key``. The score columns are lists (for JSON), or
    with ``as_lists=False`` the same rounded values as numpy arrays (for Arrow)."""
    timings = {} if timings is None else timings
    started = time.perf_counter()
    served = ctx.hub.get(req.scenario, "champion")
    batch = batch_rows(ctx, req, served)
    if budget is not None:
        check_explain(budget, key, req, len(batch.ids))
    scores, probability = served.score_array(batch.values)
    challenger = ctx.hub.maybe(req.scenario, "challenger")
    if challenger is not None and challenger.version != served.version:
        ctx.shadow.submit(challenger, served, batch.frame(served.columns), scores)
    timings["score"] = time.perf_counter() - started
    order = ranked(scores, served.reference)  # one sort: ranks, percentiles, top rows
    picked = order.to_explain(req.explain_top, req.explain_all)
    explained = [batch.ids[i] for i in picked]
    reasons = (
        ctx.explain_rows(served, explained, batch.values[picked], req.max_reasons)
        if len(picked)
        else []
    )
    timings["explain"] = time.perf_counter() - started - timings["score"]
    column = (lambda a: a.tolist()) if as_lists else (lambda a: a)
    return {
        "scenario": req.scenario,
        "model": model_ref(served),
        "percentile_basis": served.reference_basis
        if served.reference is not None
        else "this batch",
        "count": len(scores),
        "entity_id": batch.ids,
        "score": column(np.round(scores, DECIMALS)),
        "probability": column(np.round(probability, DECIMALS)),
        "percentile": column(np.round(order.percentile, 3)),
        "rank": column(order.rank),
        "reasons": dict(zip(explained, reasons, strict=True)),
    }


def is_small(req: ScoreRequest) -> bool:
    """A batch of at most ``INLINE_ROWS`` given rows or ids (never the whole table)."""
    given = req.entity_ids if req.entity_ids is not None else req.rows
    return given is not None and len(given) <= INLINE_ROWS


def as_records(columns: dict[str, Any]) -> dict[str, Any]:
    """The column layout turned into one object per row (the default layout)."""
    reasons = columns["reasons"]
    results = [
        {
            "entity_id": e,
            "score": s,
            "probability": p,
            "percentile": q,
            "rank": r,
            "reasons": reasons.get(e),
        }
        for e, s, p, q, r in zip(
            columns["entity_id"],
            columns["score"],
            columns["probability"],
            columns["percentile"],
            columns["rank"],
            strict=True,
        )
    ]
    head = {k: columns[k] for k in ("scenario", "model", "percentile_basis", "count")}
    return {**head, "results": results}


@router.post(
    "/score",
    response_model=ScoreResponse | ScoreColumns,
    summary="Score a batch of entities (feature rows, entity ids, or all)",
    responses={
        200: {
            "content": {
                ARROW_MEDIA_TYPE: {
                    "schema": {"type": "string", "format": "binary"},
                    "description": "layout=arrow: an Arrow IPC stream (serving.score_arrow)",
                }
            }
        }
    },
)
async def score(
    req: ScoreRequest, request: Request, caller: Annotated[Caller, Depends(require("score"))]
) -> Response:
    """Every row is scored; reasons only for the ``explain_top`` rows or with ``explain_all``.
    The answer names the model version that made the scores."""
    ctx = request.app.state.ctx
    timings: dict[str, float] = {}
    args = (ctx, req, timings, request.app.state.explain_budget, key_of(caller.key_id, None))
    lists = req.layout != "arrow"
    columns = (
        score_batch(*args, as_lists=lists)
        if is_small(req)
        else await run_in_threadpool(score_batch, *args, as_lists=lists)
    )
    ctx.metrics.scored(req.scenario, columns["model"]["version"], columns["count"], "/v1/score")
    started = time.perf_counter()
    log.info(
        "score %s by %s (%s): %d rows, %d explained, model v%s",
        req.scenario,
        caller.key_id,
        caller.role,
        columns["count"],
        len(columns["reasons"]),
        columns["model"]["version"],
    )
    if req.layout == "arrow":
        content, media_type = arrow_answer(columns, columns), ARROW_MEDIA_TYPE
    else:
        body = columns if req.layout == "columns" else as_records(columns)
        # NaN (a detector has no calibrated probability) is written as null
        content, media_type = pydantic_core.to_json(body, inf_nan_mode="null"), "application/json"
    timings["serialize"] = time.perf_counter() - started
    server_timing = ", ".join(f"{k};dur={v * 1000:.1f}" for k, v in timings.items())
    return Response(content, media_type=media_type, headers={"Server-Timing": server_timing})


@router.get("/models", response_model=list[LoadedModel], summary="Served model versions")
async def models(
    request: Request, _: Annotated[Caller, Depends(require("models.read"))]
) -> list[LoadedModel]:
    """What each scenario serves (champion) and shadows (challenger), with load errors."""
    return [LoadedModel(**row) for row in request.app.state.ctx.hub.status()]


@router.post("/models/refresh", response_model=list[str], summary="Poll the registry now")
async def refresh(
    request: Request, caller: Annotated[Caller, Depends(require("models.refresh"))]
) -> list[str]:
    """Ask the registry where the aliases point now instead of waiting for the next poll."""
    ctx = request.app.state.ctx
    events = await run_in_threadpool(ctx.hub.refresh)
    await run_in_threadpool(
        ctx.audit, caller, "models.refresh", "registry", None, {"events": events}
    )
    return events


@router.get("/health", response_model=Health, summary="Health with the served versions")
async def health(request: Request, response: Response) -> Health:
    """``ok`` when every scenario has a loaded champion; no key needed (probes). The
    ``X-Worker`` header names the worker process that answered (each polls the registry)."""
    response.headers["X-Worker"] = str(os.getpid())
    rows = [LoadedModel(**row) for row in request.app.state.ctx.hub.status()]
    champions = [r for r in rows if r.alias == "champion"]
    ok = bool(champions) and all(r.version is not None for r in champions)
    return Health(status="ok" if ok else "degraded", models=rows)
