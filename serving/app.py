"""The service's ASGI application: routes, error handling, limits and the staff web page.

``create_app`` builds the FastAPI app without touching anything outside; ``build_context`` wires
the real parts (registry, lead store, pool) from the settings. The BentoML service mounts the app
and attaches the context when it starts, and the tests attach their own context the same way.
"""

from __future__ import annotations

import gc
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from leads.auth import KeyCache

from . import api_admin, api_handover, api_leads, api_score, shap_reasons
from .admission import Admission, AdmissionSettings, Rationing, route_class
from .champions import ModelHub, ServedModel
from .error_handling import (
    ApiError,
    BodyLimit,
    LimitsAndCatchAll,
    install_handlers,
    install_lead_store_handler,
)
from .evidence import EvidenceIndex, evidence_owner, pool_tables
from .evidence_series import EvidenceSeries
from .feature_cache import FeatureSource, manifest_stamp, pool_loader, table_hash
from .ledger import ledger_rows
from .limits import KeyedBuckets
from .metrics import RouteMetrics, ServiceMetrics
from .request_ids import RequestIds
from .settings import DEFAULT_MAX_BODY, ServingSettings
from .shadow import ShadowScorer

log = logging.getLogger("serving")
WEB = Path(__file__).resolve().parent / "web"
CATCH_ALL = "/v1/{rest:path}"


@dataclass
class ServiceContext:
    """Everything the routes use, built once when the service starts."""

    hub: ModelHub
    features: FeatureSource
    evidence_index: EvidenceIndex
    store: Any
    shadow: ShadowScorer
    ledger: Callable[[], list[dict[str, Any]]]
    metrics: ServiceMetrics = field(default_factory=ServiceMetrics)
    evidence_series: EvidenceSeries | None = None  # None: made from the evidence index

    def __post_init__(self) -> None:
        self.keys = KeyCache(self.store)  # a revoked key is refused on the next request
        if self.evidence_series is None:  # the same loader, so both read the same tables
            self.evidence_series = EvidenceSeries(
                self.evidence_index.loader, self.evidence_index.stamp
            )

    def authenticate(self, secret: str) -> Any:
        """The principal behind an API key (hashed keys in the lead store), or None."""
        return self.keys.authenticate(secret)

    def explain(self, served: ServedModel, frame: pd.DataFrame, k: int) -> list[list[dict]]:
        """SHAP reasons for the given rows, against the population's feature table."""
        background = self.features.maybe_table(served.scenario)
        return shap_reasons.explain(served, frame, k, background)

    def explain_rows(
        self, served: ServedModel, entity_ids: list[str], values: Any, k: int
    ) -> list[list[dict]]:
        """:meth:`explain` of rows given as entity ids and a float64 matrix (the served
        columns), read from what was prepared at model load (``shap_reasons.prepare``)."""
        matrix = self.features.maybe_matrix(served.scenario, served.columns)
        if matrix is None:  # no population table: the reasons have no peers, as explain's
            frame = pd.DataFrame(values, columns=list(served.columns), index=entity_ids)
            return shap_reasons.explain(served, frame, k, None)
        return shap_reasons.explain_rows(
            shap_reasons.prepare(served, matrix), entity_ids, values, k
        )

    def evidence(self, scenario: str, entity_id: str) -> dict[str, Any]:
        """The source records naming the entity, per agency table."""
        return self.evidence_index.records(scenario, entity_id)

    def audit(
        self,
        caller: Any,
        action: str,
        object_type: str,
        object_id: str | None,
        details: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        """Append to the lead store's audit log and return once the row is committed (shared
        with concurrent requests' rows, ``leads.audit_writer``); a failure raises
        ``AuditUnavailable`` and the request is answered 503, never with its data. Blocks:
        call it from a worker thread, not on the event loop."""
        self.store.audit(
            actor=caller.actor,
            role=caller.role,
            action=action,
            object_type=object_type,
            object_id=object_id,
            reason=reason,
            details=details,
        )

    def close(self) -> None:
        """Stop polling and release the store."""
        self.hub.stop()
        self.keys.close()
        self.store.close()


def reference_scores(features: FeatureSource) -> Callable[[str, ServedModel], Any]:
    """Percentile reference of a newly loaded model: its scores on the latest feature table.

    Scoring the whole population before swapping also proves the new version works."""

    def reference(scenario: str, served: ServedModel) -> Any:
        table = features.maybe_table(scenario)
        if table is None or not len(table):
            return None
        scores = served.predict(table)["score"].to_numpy(dtype="float64")
        features.matrix(scenario, served.columns)  # what its requests read, built now
        return scores, f"{len(table)} entities of the latest {scenario} feature table"

    return reference


def warm_at_load(
    features: FeatureSource, evidence: EvidenceIndex, series: EvidenceSeries
) -> Callable[[str, ServedModel], None]:
    """What a newly loaded model's requests will read, built before it serves: the scenario's
    evidence index and entity names, its declared evidence charts' series, the peer medians
    and explainer behind its reasons (one row explained), and the district medians its leads'
    rules are read against.

    Then everything the process holds is moved out of the cyclic garbage collector's reach
    (``gc.freeze``): its full passes walked these long-lived tables and indexes (half a million
    objects for a 10,000-entity sandbox) and stopped the event loop for 0.6-0.9 s at 5x the
    staff workload, which alone put requests past 1 s. Frozen objects are still freed by
    reference counting; only cyclic garbage made before the freeze stays until the process
    ends (a replaced version's cycles, once per promotion)."""

    def warm(scenario: str, served: ServedModel) -> None:
        from .lead_rules import prepare_rules

        evidence.build(scenario)
        series.prepare(scenario)
        background = features.maybe_table(scenario)
        if background is not None and len(background) and served.alias == "champion":
            shap_reasons.explain(served, background.iloc[:1], 1, background)
            matrix = features.matrix(scenario, served.columns)
            prepared = shap_reasons.prepare(served, matrix)
            shap_reasons.explain_rows(prepared, matrix.ids[:1], matrix.values[:1], 1)
        prepare_rules(features, scenario)
        gc.collect()  # what is already garbage is freed, not frozen
        gc.freeze()

    return warm


@dataclass(frozen=True)
class ExplainBudget:
    """Rows explained per request (422 beyond) and per key and minute (429 beyond); with
    several workers each takes its share of ``per_minute`` (``per_key`` holds this worker's)."""

    max_rows: int
    per_key: KeyedBuckets
    per_minute: float

    @classmethod
    def of(cls, settings: ServingSettings) -> ExplainBudget:
        per_minute = settings.explain_rows_per_minute
        share = per_minute / max(1, settings.workers)
        return cls(settings.explain_max_rows, KeyedBuckets(share, share), per_minute)


def attach(app: FastAPI, ctx: ServiceContext, settings: ServingSettings) -> None:
    """Give a created app its context and limits (the service does this when it starts)."""
    app.state.ctx = ctx
    app.state.limit.max_bytes = settings.max_body_bytes
    app.state.admission = settings.admission
    app.state.explain_budget = ExplainBudget.of(settings)
    app.state.metrics = ctx.metrics


def build_context(settings: ServingSettings) -> ServiceContext:
    """Wire the real parts: MLflow registry, lead store, pool feature tables and records."""
    from leads.db import default_url
    from leads.store import LeadStore
    from training.mlflow_setup import open_client, resolve

    client = open_client(resolve(tracking_uri=settings.tracking_uri))
    stamp = manifest_stamp(settings.data_root)
    features = FeatureSource(settings.feature_loader() or pool_loader(settings.data_root), stamp)
    evidence = EvidenceIndex(pool_tables(settings.data_root), stamp, owner=evidence_owner)
    series = EvidenceSeries(evidence.loader, evidence.stamp)
    hub = ModelHub(
        client,
        settings.refresh_seconds,
        reference_scores(features),
        warm_at_load(features, evidence, series),
        feature_hash=lambda scenario: table_hash(features.table(scenario), scenario),
    )
    store = LeadStore.open(settings.leads_url or default_url(settings.data_root))
    ctx = ServiceContext(
        hub=hub,
        features=features,
        evidence_index=evidence,
        evidence_series=series,
        store=store,
        shadow=ShadowScorer(),
        ledger=lambda: ledger_rows(client, store),
    )
    ctx.metrics.attach(ctx)
    hub.start()
    return ctx


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """The methods the app's declared routes accept on the request's path (empty: no such
    path), so a wrong method on an existing path is a 405, not a 404."""
    from starlette.routing import Match

    found = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        probe = {**scope, "method": method}
        for route in app.routes:
            if getattr(route, "path", None) in (CATCH_ALL, "/ui"):
                continue
            if route.matches(probe)[0] is Match.FULL:
                found.append(method)
                break
    return found


def create_app(max_body_bytes: int = DEFAULT_MAX_BODY) -> FastAPI:
    """The FastAPI app with every route, handler, the size limit and the web page."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    from leads.errors import LeadStoreError

    app = FastAPI(
        title="Supervision leads",
        version="1",
        description="Explained scores, ranked leads and outcomes (see README).",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    install_handlers(app)
    install_lead_store_handler(app, LeadStoreError, (OperationalError, InterfaceError))
    for module in (api_score, api_leads, api_handover, api_admin):
        app.include_router(module.router)

    @app.api_route(
        CATCH_ALL, methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    async def unknown_route(rest: str, request: Request) -> None:
        allowed = allowed_methods(app, request.scope)
        if allowed:
            raise ApiError(
                405,
                f"{request.method} is not allowed on /v1/{rest[:100]}; "
                f"allowed: {', '.join(allowed)}",
                headers={"Allow": ", ".join(allowed)},
            )
        raise ApiError(404, f"no route /v1/{rest[:100]}; see /docs.json")

    @app.get("/ui", include_in_schema=False)
    async def ui_root() -> RedirectResponse:
        return RedirectResponse("/ui/")

    app.mount("/ui", StaticFiles(directory=WEB, html=True), name="ui")

    app.state.limit = BodyLimit(max_body_bytes)
    app.state.admission = AdmissionSettings()
    app.state.admission_counts = Counter()
    app.state.rationing = Rationing()  # shared with the Bento's admission (serving.service)
    app.state.explain_budget = ExplainBudget.of(ServingSettings(data_root=Path("data")))
    app.add_middleware(
        Admission,
        current=lambda: app.state.admission,
        counts=app.state.admission_counts,
        rationing=app.state.rationing,
    )
    app.add_middleware(LimitsAndCatchAll, limit=app.state.limit)  # sees every body and crash
    app.state.metrics = None
    app.add_middleware(
        RouteMetrics,
        metrics=lambda: app.state.metrics,  # times every request
        classify=route_class,
    )
    app.add_middleware(RequestIds)  # outermost: every line logged for a request carries its id
    return app
