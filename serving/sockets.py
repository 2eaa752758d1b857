"""Close connections that never complete a request's headers (slow-header and idle sockets).

Why here: uvicorn (which BentoML runs) starts its keep-alive timer only after a response, and
stops it on the first byte received, so a socket that connects and sends nothing, or sends its
headers a byte at a time, is held forever (the issue saw 200 slow-header and 50 idle sockets all
still open after 40 s). Neither uvicorn nor BentoML has a header timeout setting, so
:func:`guard_connections` adds one to uvicorn's HTTP protocol classes: when a connection opens,
and again after each response, a timer starts; if no new request's headers have arrived when it
fires, the connection is closed. Requests being served are never cut (their cycle is current).
It is installed by the service when it starts (never at import) and is idempotent.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any, Protocol

log = logging.getLogger("serving.sockets")
PROTOCOLS = (
    ("uvicorn.protocols.http.h11_impl", "H11Protocol"),
    ("uvicorn.protocols.http.httptools_impl", "HttpToolsProtocol"),
)
_MARK = "_supervision_header_timeout"


def _arm(protocol: Any, seconds: float) -> None:
    """(Re)start the header timer of one connection."""
    old = getattr(protocol, "_supervision_timer", None)
    if old is not None:
        old.cancel()
    cycle = getattr(protocol, "cycle", None)

    def expire() -> None:
        transport = getattr(protocol, "transport", None)
        current = getattr(protocol, "cycle", None)
        if transport is None or transport.is_closing():
            return
        if current is cycle:
            log.info("closing a connection that sent no complete request headers in %g s", seconds)
            transport.close()

    protocol._supervision_timer = protocol.loop.call_later(seconds, expire)


class _HttpProtocol(Protocol):
    """The three connection hooks of a uvicorn HTTP protocol class that the guard wraps."""

    def connection_made(self, transport: Any) -> None: ...
    def on_response_complete(self) -> None: ...
    def connection_lost(self, exc: Exception | None) -> None: ...


def _guard(cls: type[_HttpProtocol], seconds: float) -> None:
    made, complete, lost = cls.connection_made, cls.on_response_complete, cls.connection_lost

    def connection_made(self: Any, transport: Any) -> None:
        made(self, transport)
        _arm(self, getattr(cls, _MARK))

    def on_response_complete(self: Any) -> None:
        complete(self)
        if not self.transport.is_closing():
            _arm(self, getattr(cls, _MARK))

    def connection_lost(self: Any, exc: Exception | None) -> None:
        timer = getattr(self, "_supervision_timer", None)
        if timer is not None:
            timer.cancel()
        lost(self, exc)

    # patched on the class (uvicorn builds one protocol object per connection)
    hooks = {
        "connection_made": connection_made,
        "on_response_complete": on_response_complete,
        "connection_lost": connection_lost,
    }
    for hook, wrapper in hooks.items():
        setattr(cls, hook, wrapper)


def guard_connections(header_timeout: float) -> list[str]:
    """Give uvicorn's HTTP protocols a header timeout of ``header_timeout`` seconds (a second
    call only changes the timeout). Returns the protocol classes guarded."""
    guarded = []
    for module_name, class_name in PROTOCOLS:
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except ImportError:  # httptools is optional: uvicorn then runs h11 only
            continue
        if not hasattr(cls, _MARK):
            _guard(cls, header_timeout)
        setattr(cls, _MARK, float(header_timeout))
        guarded.append(class_name)
    return guarded
