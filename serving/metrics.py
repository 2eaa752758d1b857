"""The service's own Prometheus metrics, appended to BentoML's on ``/metrics``.

BentoML already exposes its ``bentoml_*`` families (request counts and latency by raw path, in
multiprocess mode). The families here live in their own ``CollectorRegistry`` (never the global
one, so nothing is registered twice and a second app in the same process gets its own), and
BentoML's ``__metrics__`` hook appends their text to its answer:

| family | labels | what |
| --- | --- | --- |
| ``supervision_request_duration_seconds`` | ``route``, ``method``, ``status`` | latency per route template (histogram) |
| ``supervision_rows_scored_total`` | ``scenario``, ``version``, ``endpoint`` | rows scored by the champion |
| ``supervision_refusals_total`` | ``route_class``, ``status`` | 429/503 answers by route class |
| ``supervision_served_version`` | ``scenario``, ``alias``, ``version`` | 1 per served (scenario, alias) |
| ``supervision_model_load_failures`` | ``scenario``, ``alias`` | 1 when the registry's version was refused |
| ``supervision_shadow_batches_total`` | ``scenario`` | batches the challenger shadow-scored |
| ``supervision_shadow_top_overlap`` | ``scenario`` | mean overlap of champion's and challenger's top 10% (1 = same leads) |
| ``supervision_shadow_rank_correlation`` | ``scenario`` | mean Spearman rank correlation |
| ``supervision_leads_issued`` / ``_verified`` / ``_cases`` | ``scenario``, ``version`` | lead store counts per version |
| ``supervision_conversion`` | ``scenario``, ``version`` | cases / verified per version |

Served versions, shadow statistics and conversion are read when scraped (conversion from the
lead store, at most every ``conversion_seconds``). Under ``bentoml serve`` prometheus_client
runs in multiprocess mode: the counters and histograms are then written to BentoML's
multiprocess folder and BentoML's own collector already exposes them, summed over the worker
processes, so :meth:`ServiceMetrics.exposition` appends only the scrape-time gauges (appending
the counters again would repeat every sample, which a Prometheus scrape refuses).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("serving.metrics")
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
REFUSALS = (429, 503)


class ServiceMetrics:
    """Counters and histograms of one service, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.state = CollectorRegistry()  # gauges computed when scraped
        self.latency = Histogram(
            "supervision_request_duration_seconds",
            "Request latency per route template",
            ["route", "method", "status"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.rows = Counter(
            "supervision_rows_scored",
            "Rows scored by the champion",
            ["scenario", "version", "endpoint"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "supervision_refusals",
            "Requests refused at capacity (503) or by a rate limit (429)",
            ["route_class", "status"],
            registry=self.registry,
        )

    def observe(
        self, route: str, method: str, status: int, seconds: float, route_class: str | None
    ) -> None:
        """One answered request."""
        self.latency.labels(route, method, str(status)).observe(seconds)
        if status in REFUSALS:
            self.refusals.labels(route_class or "unrationed", str(status)).inc()

    def scored(self, scenario: str, version: str, rows: int, endpoint: str) -> None:
        """Rows scored by a champion version."""
        self.rows.labels(scenario, version, endpoint).inc(rows)

    def attach(self, ctx: Any, conversion_seconds: float = 30.0) -> None:
        """Read served versions, shadow statistics and conversion from ``ctx`` when scraped."""
        self.state.register(StateCollector(ctx, conversion_seconds))

    def exposition(self) -> str:
        """The families in Prometheus' text format: the scrape-time gauges, and the counters
        unless the multiprocess collector exposes them already (see the module's text)."""
        text = generate_latest(self.state).decode()
        if multiprocess_mode():
            return text
        return generate_latest(self.registry).decode() + text


def multiprocess_mode() -> bool:
    """True when prometheus_client keeps values in the multiprocess folder (``bentoml serve``
    sets ``PROMETHEUS_MULTIPROC_DIR`` before any metric is made)."""
    from prometheus_client import values

    return values.ValueClass is not values.MutexValue


class StateCollector(Collector):
    """Gauges computed at scrape time from the hub, the shadow scorer and the lead store."""

    def __init__(self, ctx: Any, conversion_seconds: float) -> None:
        self.ctx = ctx
        self.conversion_seconds = conversion_seconds
        self._cached: tuple[float, list[Any]] = (float("-inf"), [])
        self._lock = threading.Lock()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        served = GaugeMetricFamily(
            "supervision_served_version",
            "1 for the version each scenario and alias serves",
            labels=["scenario", "alias", "version"],
        )
        failed = GaugeMetricFamily(
            "supervision_model_load_failures",
            "1 when the registry's version for the alias was refused "
            "(see /v1/models for the reason)",
            labels=["scenario", "alias"],
        )
        for row in self.ctx.hub.status():
            if row["version"] is not None:
                served.add_metric([row["scenario"], row["alias"], row["version"]], 1.0)
            failed.add_metric([row["scenario"], row["alias"]], 1.0 if row["last_error"] else 0.0)
        yield served
        yield failed
        yield from self._shadow()
        yield from self._conversion()

    def _shadow(self) -> Iterator[GaugeMetricFamily]:
        batches = GaugeMetricFamily(
            "supervision_shadow_batches",
            "Batches the challenger shadow-scored",
            labels=["scenario"],
        )
        overlap = GaugeMetricFamily(
            "supervision_shadow_top_overlap",
            "Mean overlap of the champion's and the challenger's top 10% "
            "(rank overlap at k = a tenth of the batch)",
            labels=["scenario"],
        )
        corr = GaugeMetricFamily(
            "supervision_shadow_rank_correlation",
            "Mean Spearman rank correlation, champion vs challenger",
            labels=["scenario"],
        )
        for scenario, stats in sorted(self.ctx.shadow.stats.items()):
            batches.add_metric([scenario], float(stats.batches))
            if stats.batches:
                summary = stats.as_dict()
                overlap.add_metric([scenario], summary["mean_top_decile_overlap"])
                corr.add_metric([scenario], summary["mean_rank_corr"])
        yield from (batches, overlap, corr)

    def _conversion(self) -> Iterator[GaugeMetricFamily]:
        families = {
            name: GaugeMetricFamily(f"supervision_{name}", text, labels=["scenario", "version"])
            for name, text in (
                ("leads_issued", "Leads issued per model version"),
                ("leads_verified", "Leads verified per model version"),
                ("leads_cases", "Cases filed per model version"),
                ("conversion", "Cases filed / leads verified"),
            )
        }
        for conv in self._conversions():
            labels = [conv.scenario, str(conv.model_version)]
            families["leads_issued"].add_metric(labels, float(conv.issued))
            families["leads_verified"].add_metric(labels, float(conv.verified))
            families["leads_cases"].add_metric(labels, float(conv.cases))
            if conv.conversion is not None:
                families["conversion"].add_metric(labels, float(conv.conversion))
        yield from families.values()

    def _conversions(self) -> list[Any]:
        with self._lock:
            stamp, rows = self._cached
            if time.monotonic() - stamp < self.conversion_seconds:
                return rows
            rows = []
            for scenario in self.ctx.hub.scenarios():
                try:
                    rows.extend(self.ctx.store.conversion_by_version(scenario))
                except Exception:  # noqa: BLE001 - a scrape must answer; the log names it
                    log.exception("conversion of %s could not be read for /metrics", scenario)
            self._cached = (time.monotonic(), rows)
            return rows


def route_template(scope: Scope) -> str:
    """The matched route's template (``/v1/leads/{lead_id}``), never the raw path (unbounded
    label values); ``unmatched`` when no route took the request."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    raw = scope.get("path", "")
    return "/ui" if raw.startswith("/ui") else "unmatched"


class RouteMetrics:
    """ASGI middleware timing every HTTP request of the mounted app by route template."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Callable[[], ServiceMetrics | None],
        classify: Callable[[str, str], str | None],
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.classify = classify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        metrics = self.metrics()
        if scope["type"] != "http" or metrics is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            metrics.observe(
                route_template(scope),
                scope.get("method", ""),
                status,
                time.perf_counter() - started,
                self.classify(scope.get("method", ""), scope.get("path", "")),
            )
