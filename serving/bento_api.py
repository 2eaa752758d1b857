"""The Bento's typed endpoints: ``POST /bento/score`` and ``POST /bento/explain``.

They are ``@bentoml.api`` methods of the service (``serving.service``), with pydantic input and
output models that BentoML validates and documents in ``/docs.json``; the staff routes stay on the
mounted FastAPI app under ``/v1/``. Both endpoints authenticate exactly as the mounted routes do
(``Authorization: Bearer`` or ``X-API-Key``, checked against the hashed keys of the lead store,
action ``score`` in the access matrix: 401 without a valid key, 403 for a role the matrix
refuses) and score through the same code as ``POST /v1/score`` (the same champion, the same
explained-rows limits), so a score from the Bento equals the score from ``/v1/score``.

Errors have the project's one shape (``{"status", "error", "detail"}``). A body that does not
match the input model is refused by BentoML itself with 400; ``BentoBadRequests`` puts the fields
at fault into ``detail`` as one string, the type BentoML's OpenAPI document declares.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, Field, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse

from . import access
from .api_score import as_records, score_batch
from .champions import ModelUnavailable, UnknownScenario
from .error_handling import ApiError
from .limits import key_of
from .schemas import (
    MAX_EXPLAIN_ALL,
    MAX_ROWS,
    EntityId,
    FeatureRow,
    ModelRef,
    Name,
    Reason,
    ScoreRequest,
    Strict,
)
from .security import identify

SCORE_ROUTE = "/bento/score"
EXPLAIN_ROUTE = "/bento/explain"
ACTION = "score"


class BentoScoreInput(Strict):
    """Score feature ``rows``, the pool's ``entity_ids``, or ``all_entities`` (exactly one)."""

    scenario: Name
    rows: list[FeatureRow] | None = Field(default=None, max_length=MAX_ROWS)
    entity_ids: list[EntityId] | None = Field(default=None, max_length=MAX_ROWS)
    all_entities: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> BentoScoreInput:
        given = [self.rows is not None, self.entity_ids is not None, self.all_entities]
        if sum(given) != 1:
            raise ValueError("give exactly one of rows, entity_ids or all_entities=true")
        if (self.rows is not None and not self.rows) or (
            self.entity_ids is not None and not self.entity_ids
        ):
            raise ValueError("rows or entity_ids must not be empty")
        return self


class BentoExplainInput(Strict):
    """Score and explain (SHAP reasons) every given row or entity: exactly one of ``rows`` and
    ``entity_ids``, at most the service's explained-rows limit."""

    scenario: Name
    rows: list[FeatureRow] | None = Field(default=None, max_length=MAX_EXPLAIN_ALL)
    entity_ids: list[EntityId] | None = Field(default=None, max_length=MAX_EXPLAIN_ALL)
    max_reasons: int = Field(default=5, ge=1, le=50)

    @model_validator(mode="after")
    def _one_source(self) -> BentoExplainInput:
        if (self.rows is None) == (self.entity_ids is None):
            raise ValueError("give exactly one of rows or entity_ids")
        if not (self.rows or self.entity_ids):
            raise ValueError("rows or entity_ids must not be empty")
        return self


class BentoScore(BaseModel):
    """One scored entity."""

    entity_id: str
    score: float
    probability: float | None
    percentile: float
    rank: int


class BentoScores(BaseModel):
    """Scores in input order, with the model version that made them."""

    scenario: str
    model: ModelRef
    percentile_basis: str
    count: int
    results: list[BentoScore]


class BentoExplained(BentoScore):
    """One scored entity with its reasons."""

    reasons: list[Reason]


class BentoExplanations(BaseModel):
    """Scores and reasons in input order, with the model version that made them."""

    scenario: str
    model: ModelRef
    percentile_basis: str
    count: int
    results: list[BentoExplained]


def caller_key(ctx: Any, request: Request) -> str:
    """Authenticate the request as the mounted routes do and check the ``score`` action;
    returns the key's id (401/403 as :class:`ApiError`)."""
    principal = identify(request, ctx.authenticate)
    if access.reach(ACTION, principal.role) is None:
        raise ApiError(403, f"role {principal.role!r} may not {ACTION}")
    return str(principal.key_id)


def as_score_request(body: BentoScoreInput | BentoExplainInput) -> ScoreRequest:
    """The ``/v1/score`` request that answers the same question."""
    if isinstance(body, BentoExplainInput):
        return ScoreRequest(
            scenario=body.scenario,
            rows=body.rows,
            entity_ids=body.entity_ids,
            explain_all=True,
            max_reasons=body.max_reasons,
        )
    return ScoreRequest(
        scenario=body.scenario,
        rows=body.rows,
        entity_ids=body.entity_ids,
        all_entities=body.all_entities,
    )


def answer(
    ctx: Any, budget: Any, request: Request, body: BentoScoreInput | BentoExplainInput
) -> dict[str, Any] | JSONResponse:
    """Authenticate, score (and explain) through ``score_batch``; an error answer otherwise.

    Runs in a worker thread (the key lookup reads the lead store)."""
    route = EXPLAIN_ROUTE if isinstance(body, BentoExplainInput) else SCORE_ROUTE
    started = time.perf_counter()
    status = 200
    try:
        key = caller_key(ctx, request)
        columns = score_batch(ctx, as_score_request(body), budget=budget, key=key_of(key, None))
        records = as_records(columns)
        ctx.metrics.scored(body.scenario, columns["model"]["version"], columns["count"], route)
        if isinstance(body, BentoScoreInput):
            for row in records["results"]:
                row.pop("reasons")
        return records
    except ApiError as exc:
        status = exc.status
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        return error(exc.status, exc.message, exc.detail, {**headers, **(exc.headers or {})})
    except UnknownScenario as exc:
        status = 404
        return error(404, str(exc))
    except ModelUnavailable as exc:
        status = 503
        return error(503, str(exc))
    finally:
        ctx.metrics.observe(route, "POST", status, time.perf_counter() - started, "score")


def error(
    status: int,
    message: str,
    detail: list[dict] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The project's error shape (see ``serving.error_handling``)."""
    content: dict[str, Any] = {"status": status, "error": message}
    if detail is not None:
        content["detail"] = detail
    return JSONResponse(content, status_code=status, headers=headers or None)


class BentoBadRequests:
    """ASGI middleware: BentoML's own 400 for a body its input model refuses lists the fields
    at fault under ``detail``, while its OpenAPI document declares ``detail`` a string; this
    rewrites those answers (``/bento/*`` only) to the documented shape, naming every field:
    ``{"status": 400, "error": "invalid request body", "detail": "rows.0.features: ...; ..."}``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/bento/"):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] | None = None
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] == 400:
                start = message
                return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                body = rewritten(b"".join(chunks))
                headers = [
                    (k, v)
                    for k, v in start.get("headers", [])
                    if k.lower() not in (b"content-length", b"content-type")
                ]
                headers += [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ]
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)


def rewritten(raw: bytes) -> bytes:
    """A BentoML 400 body in the documented shape (``detail`` a string naming the fields)."""
    import json

    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        data = {"error": raw.decode("utf-8", "replace")[:500]}
    detail = data.get("detail") if isinstance(data, dict) else None
    if isinstance(detail, list):
        parts = [
            f"{'.'.join(str(p) for p in d.get('loc', [])) or 'body'}: {d.get('msg', '')}"
            for d in detail
            if isinstance(d, dict)
        ]
        detail = "; ".join(parts)
    message = data.get("error", "invalid request body") if isinstance(data, dict) else ""
    out = {
        "status": 400,
        "error": f"invalid request body ({message})",
        "detail": str(detail or message)[:4000],
    }
    return json.dumps(out, ensure_ascii=False).encode()
