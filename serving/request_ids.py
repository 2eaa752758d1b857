"""A request id on every call: taken from the caller's ``X-Request-ID`` header when it is a
sensible token, generated otherwise, echoed in the response's ``X-Request-ID`` and carried by
every log line written while the request runs (``console.logs``), with one access line per
request (method, path, status, milliseconds)."""

from __future__ import annotations

import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console import logs

HEADER = b"x-request-id"
#: What a caller's id may look like (anything else is replaced, never logged as given).
TOKEN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
log = logging.getLogger("serving.access")


def request_id(scope: Scope) -> str:
    """The caller's id when it is a plain token of at most 64 characters, else a new one."""
    given = dict(scope.get("headers") or []).get(HEADER, b"").decode("latin-1")
    return given if TOKEN.match(given) else logs.new_id()


class RequestIds:
    """ASGI middleware (outermost): sets the request id for the request's log lines and echoes
    it in the response headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0
        started = time.perf_counter()
        with logs.request_context(request_id(scope)) as rid:

            async def send_with_id(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    message = {
                        **message,
                        "headers": [*message.get("headers", []), (HEADER, rid.encode())],
                    }
                await send(message)

            try:
                await self.app(scope, receive, send_with_id)
            finally:
                log.info(
                    "%s %s %s %.0f ms",
                    scope.get("method"),
                    scope.get("path"),
                    status,
                    (time.perf_counter() - started) * 1000,
                )
