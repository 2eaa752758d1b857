"""Log lines for every entry point: standard ``logging``, the level and format from the
settings (``SUPERVISION_LOG_LEVEL``, ``SUPERVISION_LOG_FORMAT=text|json``), and on every line the
id of what it belongs to: the training run (``run=``) or the service request (``request=``).

Ids travel in context variables, so concurrent requests (asyncio tasks, threads started with
``contextvars.copy_context``) each carry their own.
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO

from settings import get_settings
from settings.packages import PACKAGES

RUN_ID: ContextVar[str | None] = ContextVar("run_id", default=None)
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
#: Marks the handler this module installed, so configuring twice replaces it.
_HANDLER_NAME = "supervision"
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(ids)s] %(message)s"


def new_id() -> str:
    """A short random id (12 hex digits) for a run or a request."""
    return uuid.uuid4().hex[:12]


class ContextIds(logging.Filter):
    """Adds ``run_id``, ``request_id`` and ``ids`` (``run=... request=...`` or ``-``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        run_id, request_id = RUN_ID.get(), REQUEST_ID.get()
        parts = [f"run={run_id}"] if run_id else []
        parts += [f"request={request_id}"] if request_id else []
        record.__dict__.update(run_id=run_id, request_id=request_id, ids=" ".join(parts) or "-")
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, run_id, request_id (+ error)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "run_id": getattr(record, "run_id", None),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


#: The project's own loggers (what a host process such as BentoML leaves to us).
PROJECT_LOGGERS: tuple[str, ...] = PACKAGES

#: Libraries that log one INFO line per HTTP request they send (a benchmark's client sends
#: thousands): held at WARNING unless the level asked for is DEBUG.
CHATTY_LIBRARIES: tuple[str, ...] = ("httpx", "httpcore")


def configure(
    level: str | None = None,
    fmt: str | None = None,
    stream: IO[str] | None = None,
    loggers: Sequence[str] | None = None,
) -> logging.Handler:
    """Send log lines to ``stream`` (standard error) in the configured format and level.

    By default the root logger's lines (an entry point owns the process); with ``loggers``,
    only those loggers' (a host such as BentoML keeps its own root handlers). Called by entry
    points, never at import; calling it again replaces the handler it made.
    """
    settings = get_settings()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(ContextIds())
    chosen = fmt or settings.supervision_log_format
    handler.setFormatter(JsonFormatter() if chosen == "json" else logging.Formatter(TEXT_FORMAT))
    targets = [logging.getLogger(name) for name in loggers] if loggers else [logging.getLogger()]
    for target in targets:
        for old in [h for h in target.handlers if h.get_name() == _HANDLER_NAME]:
            target.removeHandler(old)
        target.addHandler(handler)
        target.setLevel(level or settings.supervision_log_level)
        if loggers:
            target.propagate = False
    if not loggers:
        debug = logging.getLevelName(level or settings.supervision_log_level) == logging.DEBUG
        for name in CHATTY_LIBRARIES:
            logging.getLogger(name).setLevel(logging.NOTSET if debug else logging.WARNING)
    return handler


@contextmanager
def run_context(run_id: str | None = None) -> Iterator[str]:
    """Every log line inside the block carries ``run=<run_id>`` (a new id when none is given)."""
    value = run_id or new_id()
    token = RUN_ID.set(value)
    try:
        yield value
    finally:
        RUN_ID.reset(token)


@contextmanager
def request_context(request_id: str | None = None) -> Iterator[str]:
    """Every log line inside the block carries ``request=<request_id>``."""
    value = request_id or new_id()
    token = REQUEST_ID.set(value)
    try:
        yield value
    finally:
        REQUEST_ID.reset(token)
