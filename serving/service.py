"""The BentoML service: ``bentoml serve serving.service:SupervisionLeads``.

BentoML runs the process, the health probes (``/healthz``, ``/livez``, ``/readyz``), metrics
(``/metrics``: BentoML's own families plus the service's, ``serving.metrics``) and the OpenAPI
document (``/docs.json``, which includes the mounted routes). The typed endpoints for other systems
are ``@bentoml.api`` methods (``POST /bento/score``, ``POST /bento/explain``, ``serving.bento_api``);
the versioned JSON routes under ``/v1/`` and the web page under ``/ui/`` are a FastAPI app mounted
into it. The service loads each scenario's champion once at start and keeps polling the registry
for alias changes. ``bentofile.yaml`` builds it into a Bento (README, "A Bento").
"""

from __future__ import annotations

import functools
from typing import Any, cast

import bentoml
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from console import logs
from serving.admission import Admission, Shed, bento_route_class, route_class
from serving.app import ServiceContext, attach, build_context, create_app
from serving.bento_api import (
    EXPLAIN_ROUTE,
    SCORE_ROUTE,
    BentoBadRequests,
    BentoExplainInput,
    BentoExplanations,
    BentoScoreInput,
    BentoScores,
    answer,
)
from serving.settings import ServingSettings
from serving.sockets import guard_connections

app = create_app()


@bentoml.service(
    name="supervision_leads", workers=1, traffic={"timeout": 300}, http={"cors": {"enabled": False}}
)
@bentoml.asgi_app(app, path="/")
class SupervisionLeads:
    """Explained scores for other systems, ranked leads and outcomes for staff."""

    def __init__(self) -> None:
        logs.configure(loggers=logs.PROJECT_LOGGERS)  # request=<id> on every line
        settings = ServingSettings.from_env()
        guard_connections(settings.header_timeout)
        self.ctx: ServiceContext = build_context(settings)
        attach(app, self.ctx, settings)

    def __is_ready__(self) -> bool:
        """Ready once the registry has been read (even if a scenario has no champion yet)."""
        return self.ctx is not None

    async def _answer(self, body: Any, context: bentoml.Context, output: Any) -> Any:
        got = await run_in_threadpool(
            answer, self.ctx, app.state.explain_budget, context.request, body
        )
        if isinstance(got, JSONResponse):
            context.response.status_code = got.status_code  # BentoML applies the context's
            return got
        return output.model_validate(got)

    @bentoml.api(route=SCORE_ROUTE, input_spec=BentoScoreInput, output_spec=BentoScores)
    async def score(self, context: bentoml.Context, **body: Any) -> BentoScores:
        """Score feature rows, entity ids or every entity with the scenario's champion
        (API key with the ``score`` action: system, data_scientist, admin)."""
        return await self._answer(BentoScoreInput(**body), context, BentoScores)

    @bentoml.api(route=EXPLAIN_ROUTE, input_spec=BentoExplainInput, output_spec=BentoExplanations)
    async def explain(self, context: bentoml.Context, **body: Any) -> BentoExplanations:
        """Score and explain (SHAP reasons) the given rows or entities with the champion."""
        return await self._answer(BentoExplainInput(**body), context, BentoExplanations)

    async def __metrics__(self, content: str) -> str:
        """BentoML's metrics followed by the service's own (``serving.metrics``)."""
        return content + self.ctx.metrics.exposition()

    @bentoml.on_shutdown
    def close(self) -> None:
        """Stop the registry poller and release the lead store."""
        self.ctx.close()


#: the class as BentoML's decorators return it (a ``bentoml.Service``); their overloads read
#: to mypy as the bare class
SERVICE = cast("bentoml.Service[SupervisionLeads]", SupervisionLeads)


def refused(path: str, status: int, route_class: str, seconds: float) -> None:
    """A ``/bento/*`` request refused before BentoML saw it, counted in ``/metrics``."""
    metrics = app.state.metrics
    if metrics is not None:
        metrics.observe(path, "POST", status, seconds, route_class)


def shed(path: str, status: int, klass: str, seconds: float) -> None:
    """A request shed at capacity before any route matched, counted in ``/metrics`` under its
    path when that is one fixed route (``/v1/score``, ``/bento/*``), else ``unmatched`` (a raw
    lead path would be an unbounded label)."""
    fixed = path == "/v1/score" or path.startswith("/bento/")
    refused(path if fixed else "unmatched", status, klass, seconds)


def rationed_class(method: str, path: str) -> str | None:
    """The route class of any rationed request: the Bento's endpoints or the mounted app's."""
    return bento_route_class(method, path) or route_class(method, path)


# First of the service's own middlewares (BentoML's metrics, tracing and access log stay in
# front of it): a request the capacity would refuse at once is answered 503 here, before
# BentoML routes it and before any body read, key lookup or logging (``Shed``).
SERVICE.add_asgi_middleware(
    Shed,
    current=lambda: app.state.admission,
    rationing=app.state.rationing,
    counts=app.state.admission_counts,
    classify=rationed_class,
    on_refusal=shed,
)
SERVICE.add_asgi_middleware(BentoBadRequests)
# The typed endpoints are BentoML's, outside the mounted app: ration them with the same
# capacity and per-key budget as /v1/score (one Rationing), refusing with 429/503 + Retry-After.
SERVICE.add_asgi_middleware(
    Admission,
    current=lambda: app.state.admission,
    counts=app.state.admission_counts,
    rationing=app.state.rationing,
    classify=bento_route_class,
    on_refusal=refused,
)


@functools.cache
def asgi() -> Any:
    """The full ASGI app (BentoML's probes, metrics and OpenAPI plus the mounted routes), built
    once per process: BentoML registers its metrics globally, so a second build would clash.
    In-process tests enter its lifespan, which creates the service and its context."""
    return SERVICE.to_asgi()
