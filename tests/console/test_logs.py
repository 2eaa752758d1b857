"""Log lines: the standard logging module, text or JSON, and the run or request id on each."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest

from console import logs


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The project's loggers written to a buffer; their old state restored afterwards."""
    names = ("serving", "training")
    before = {n: (logging.getLogger(n).level, logging.getLogger(n).propagate) for n in names}
    out = io.StringIO()
    handler = logs.configure(level="INFO", fmt="text", stream=out, loggers=names)
    yield out
    for name, (level, propagate) in before.items():
        logger = logging.getLogger(name)
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def test_a_training_line_carries_its_run_id(captured: io.StringIO) -> None:
    with logs.run_context() as run_id:
        logging.getLogger("training.train").info("fuel_tax: v3 challenger")
    logging.getLogger("training.train").info("outside any run")
    first, second = captured.getvalue().splitlines()
    assert f"[run={run_id}]" in first and first.endswith("fuel_tax: v3 challenger")
    assert "[-]" in second
    assert len(run_id) == 12 and int(run_id, 16) >= 0


def test_json_lines_parse_and_name_the_ids() -> None:
    out = io.StringIO()
    handler = logs.configure(level="INFO", fmt="json", stream=out, loggers=["training"])
    try:
        with logs.run_context("abc123"):
            logging.getLogger("training.x").warning("点 %s", "中文")
    finally:
        logging.getLogger("training").removeHandler(handler)
        logging.getLogger("training").propagate = True
    line = json.loads(out.getvalue())
    assert line["run_id"] == "abc123" and line["request_id"] is None
    assert line["level"] == "WARNING" and line["message"] == "点 中文"
    assert line["logger"] == "training.x" and line["time"].endswith("+00:00")


def test_the_format_comes_from_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPERVISION_LOG_FORMAT", "json")
    out = io.StringIO()
    handler = logs.configure(stream=out, loggers=["training"])
    try:
        logging.getLogger("training").info("hello")
    finally:
        logging.getLogger("training").removeHandler(handler)
        logging.getLogger("training").propagate = True
    assert json.loads(out.getvalue())["message"] == "hello"


@pytest.mark.anyio
async def test_the_service_echoes_or_makes_a_request_id_and_logs_it(captured: io.StringIO) -> None:
    from serving.app import create_app

    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        given = await client.get("/v1/no-such-route", headers={"X-Request-ID": "call-42"})
        made = await client.get("/v1/no-such-route")
        refused = await client.get("/v1/no-such-route", headers={"X-Request-ID": "bad id\t!"})
    assert given.status_code == 404 and given.headers["x-request-id"] == "call-42"
    assert len(made.headers["x-request-id"]) == 12
    assert (
        refused.headers["x-request-id"] != "bad id\t!"
        and len(refused.headers["x-request-id"]) == 12
    )
    lines = captured.getvalue().splitlines()
    assert any(
        "[request=call-42]" in line and "GET /v1/no-such-route 404" in line for line in lines
    )
    assert any(f"[request={made.headers['x-request-id']}]" in line for line in lines)


def test_per_request_library_chatter_is_held_back_unless_debugging() -> None:
    root = logging.getLogger()
    before = (root.level, list(root.handlers), logging.getLogger("httpx").level)
    out = io.StringIO()
    try:
        logs.configure(level="INFO", fmt="text", stream=out)
        logging.getLogger("httpx").info("HTTP Request: POST /v1/score")
        logging.getLogger("httpx").warning("connection refused")
        logging.getLogger("training.train").info("fuel_tax: v3 challenger")
        lines = out.getvalue().splitlines()
        assert [line.split(" [")[0].split()[-1] for line in lines] == ["httpx", "training.train"]
        assert "connection refused" in lines[0]
        logs.configure(level="DEBUG", fmt="text", stream=out)
        logging.getLogger("httpx").info("HTTP Request: GET /healthz")
        assert "GET /healthz" in out.getvalue()
    finally:
        root.handlers[:] = before[1]
        root.setLevel(before[0])
        logging.getLogger("httpx").setLevel(before[2])
