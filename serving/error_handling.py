"""Error answers: every failure is a small JSON body with a status and a message naming the fault.

Validation errors list the fields at fault (422); known domain errors map to their HTTP status;
bodies over the size limit are cut off with 413 before they are read; anything unexpected is
logged with an incident id and answered cleanly instead of with a traceback.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leads.audit_writer import first_line

from .champions import ModelUnavailable, UnknownScenario

log = logging.getLogger("serving.error_handling")


class ApiError(Exception):
    """An error with an HTTP status, raised by the routes."""

    def __init__(
        self,
        status: int,
        message: str,
        detail: list[dict] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail
        self.headers = headers


def error_response(
    status: int,
    message: str,
    detail: list[dict] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The one shape of every error answer."""
    body: dict[str, Any] = {"status": status, "error": message}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, headers=headers)


def field_errors(errors: list[Any]) -> list[dict]:
    """Pydantic errors reduced to location, message and type (never echoing the input)."""
    return [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "msg": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in errors
    ]


def _lead_store_status(exc: Exception) -> int:
    """HTTP status of a lead store error, by its class name (the store names its errors)."""
    name = type(exc).__name__
    statuses = {
        "UnknownLead": 404,
        "IllegalTransition": 409,
        "OutcomeConflict": 409,
        "AuditUnavailable": 503,
    }
    return statuses.get(name, 422)


STORE_RETRY_AFTER = "5"  # seconds a client is asked to wait when the lead store is failing


def install_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every known failure into a clean JSON answer."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid request", field_errors(list(exc.errors())))

    @app.exception_handler(ValidationError)
    async def _pydantic(_: Request, exc: ValidationError) -> JSONResponse:
        return error_response(422, "invalid request", field_errors(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_response(
            exc.status,
            exc.message,
            exc.detail,
            headers={**(headers or {}), **(exc.headers or {})} or None,
        )

    @app.exception_handler(UnknownScenario)
    async def _scenario(_: Request, exc: UnknownScenario) -> JSONResponse:
        return error_response(404, str(exc))

    @app.exception_handler(ModelUnavailable)
    async def _unavailable(_: Request, exc: ModelUnavailable) -> JSONResponse:
        return error_response(503, str(exc))


def install_lead_store_handler(
    app: FastAPI, base: type[Exception], outages: tuple[type[Exception], ...] = ()
) -> None:
    """Map the lead store's errors (``base`` and subclasses) to 404/409/422 with their message,
    and an audit row that could not be committed to 503 (the read is not answered). ``outages``
    (the database driver's connection and operational errors) are a failing store: 503 with
    ``Retry-After``, never a 500."""

    @app.exception_handler(base)
    async def _store(_: Request, exc: Exception) -> JSONResponse:
        status = _lead_store_status(exc)
        detail = [
            {"loc": ["body", field], "msg": str(exc), "type": type(exc).__name__}
            for field in [getattr(exc, "field", None)]
            if field
        ]
        headers = {"Retry-After": STORE_RETRY_AFTER} if status == 503 else None
        return error_response(status, str(exc), detail or None, headers=headers)

    async def _outage(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "lead store failing on %s %s: %s", request.method, request.url.path, first_line(exc)
        )
        return error_response(
            503,
            f"the lead store is unavailable ({type(exc).__name__}: {first_line(exc)}); "
            "nothing was answered, try again later",
            headers={"Retry-After": STORE_RETRY_AFTER},
        )

    for outage in outages:
        app.add_exception_handler(outage, _outage)


@dataclass
class BodyLimit:
    """The request size limit, mutable so a started service can apply its settings."""

    max_bytes: int


class BodyTooLarge(HTTPException):
    """Raised inside ``receive`` when a body passes the limit (an HTTPException, so FastAPI's
    body reader passes it on instead of calling it a parse error)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body larger than the limit of {max_bytes} bytes")


class LimitsAndCatchAll:
    """ASGI middleware: refuse bodies over ``max_bytes`` with 413, answer crashes with a clean 500.

    The size is checked on the declared Content-Length and again while the body streams in, so a
    chunked upload cannot slip past. The catch-all logs the traceback under an incident id.
    """

    def __init__(self, app: ASGIApp, limit: BodyLimit) -> None:
        self.app = app
        self.limit = limit

    @property
    def max_bytes(self) -> int:
        """The current limit (the service sets it from its settings when it starts)."""
        return self.limit.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._send_too_large(send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, self._limited(receive), tracking_send)
        except BodyTooLarge:
            if not started:
                await self._send_too_large(send)
        except Exception:  # noqa: BLE001 - the catch-all: log it, answer cleanly
            incident = uuid.uuid4().hex[:12]
            log.exception(
                "unhandled error, incident %s, %s %s",
                incident,
                scope.get("method"),
                scope.get("path"),
            )
            if not started:
                response = error_response(500, f"internal error, incident {incident} logged")
                await response(scope, receive, send)

    def _limited(self, receive: Receive) -> Callable[[], Any]:
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        return limited

    async def _send_too_large(self, send: Send) -> None:
        body = (
            b'{"status":413,"error":"request body larger than the limit of '
            + str(self.max_bytes).encode()
            + b' bytes"}'
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
