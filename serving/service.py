"""The BentoML service: ``bentoml serve serving.service:SupervisionLeads``.

BentoML runs the process, the health probes (``/healthz``, ``/livez``, ``/readyz``), metrics and
the OpenAPI document (``/docs.json``, which includes the mounted routes); the versioned JSON routes
under ``/v1/`` and the web page under ``/ui/`` are a FastAPI app mounted into it. The service loads
each scenario's champion once at start and keeps polling the registry for alias changes.
"""

from __future__ import annotations

import functools
from typing import Any

import bentoml

from console import logs
from serving.app import ServiceContext, attach, build_context, create_app
from serving.settings import ServingSettings
from serving.sockets import guard_connections

app = create_app()


@bentoml.service(name="supervision_leads", workers=1, traffic={"timeout": 300},
                 http={"cors": {"enabled": False}})
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

    @bentoml.on_shutdown
    def close(self) -> None:
        """Stop the registry poller and release the lead store."""
        self.ctx.close()


@functools.cache
def asgi() -> Any:
    """The full ASGI app (BentoML's probes, metrics and OpenAPI plus the mounted routes), built
    once per process: BentoML registers its metrics globally, so a second build would clash.
    In-process tests enter its lifespan, which creates the service and its context."""
    return SupervisionLeads.to_asgi()
