"""Overload and abuse: bounded queues refusing with 503 + Retry-After, per-key rate limits (429),
explained-row caps (422 naming the field and the limit, 429 per minute), work dropped for a
client that has gone, slow-header and idle sockets closed, and the spec rules (405 on a wrong
method, unknown query parameters refused, CSV formulas neutralised).

The service runs in-process on the sandbox (real registry, lead store and feature table), with
small capacities set through the same settings the README documents.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import replace

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from serving.admission import Admission, AdmissionSettings
from serving.api_leads import csv_cell
from serving.app import ExplainBudget, attach, build_context, create_app
from serving.launch import free_port
from serving.sandbox import SCENARIO
from serving.settings import ServingSettings
from serving.sockets import guard_connections


@pytest.fixture(scope="module")
def service(sandbox):
    """App, context and settings; each test sets the limits it needs through ``attach``."""
    patch = pytest.MonkeyPatch()
    for name, value in sandbox.env(refresh_seconds=60).items():
        patch.setenv(name, value)
    settings = ServingSettings.from_env()
    app = create_app()
    ctx = build_context(settings)
    attach(app, ctx, settings)
    yield app, ctx, settings
    ctx.close()
    patch.undo()


def key(sandbox, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.keys[who]}"}


async def burst(app, n: int, headers: dict, body: dict) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await asyncio.gather(
            *[client.post("/v1/score", json=body, headers=headers) for _ in range(n)]
        )


def test_a_burst_beyond_capacity_is_refused_at_once_with_retry_after(service, sandbox) -> None:
    app, ctx, settings = service
    tight = replace(
        settings.admission,
        concurrency={"score": 1, "reads": 4, "writes": 2},
        queue={"score": 1, "reads": 8, "writes": 8},
        queue_timeout=30.0,
    )
    attach(app, ctx, replace(settings, admission=tight))
    body = {"scenario": SCENARIO, "all_entities": True, "explain_top": 20}
    answers = asyncio.run(burst(app, 12, key(sandbox, "system"), body))
    codes = [a.status_code for a in answers]
    assert codes.count(200) >= 1 and codes.count(503) >= 8, codes
    refused = next(a for a in answers if a.status_code == 503)
    assert refused.headers["retry-after"] == "1" and "capacity" in refused.json()["error"]
    attach(app, ctx, settings)


def test_a_key_over_its_rate_gets_429_with_retry_after(service, sandbox) -> None:
    app, ctx, settings = service
    slow = replace(settings.admission, rate_per_minute=6.0, rate_burst=3.0)
    attach(app, ctx, replace(settings, admission=slow))
    with TestClient(app) as client:
        codes = [
            client.get("/v1/whoami", headers=key(sandbox, "admin")).status_code for _ in range(5)
        ]
        other = client.get("/v1/whoami", headers=key(sandbox, "system"))
        limited = client.get("/v1/whoami", headers=key(sandbox, "admin"))
    assert codes == [200, 200, 200, 429, 429] and other.status_code == 200
    assert int(limited.headers["retry-after"]) >= 1 and "per minute" in limited.json()["error"]
    attach(app, ctx, settings)


def test_explained_rows_are_capped_per_request_and_per_minute(service, sandbox) -> None:
    app, ctx, settings = service
    attach(app, ctx, replace(settings, explain_max_rows=50, explain_rows_per_minute=60))
    with TestClient(app) as client:

        def score(**extra):
            return client.post(
                "/v1/score",
                json={"scenario": SCENARIO, "all_entities": True, **extra},
                headers=key(sandbox, "system"),
            )

        top = score(explain_top=200_000)
        assert top.status_code == 422
        assert top.json()["detail"][0]["loc"] == ["body", "explain_top"]
        assert "limit is 50" in top.json()["error"]
        every = score(explain_all=True)
        assert every.status_code == 422 and every.json()["detail"][0]["loc"][-1] == "explain_all"
        assert score(explain_top=40).status_code == 200
        over = score(explain_top=40)  # 80 rows within the minute: over the 60 per minute
        assert over.status_code == 429 and "60 per minute" in over.json()["error"]
        assert int(over.headers["retry-after"]) >= 1
    attach(app, ctx, settings)


def test_work_for_a_client_that_has_gone_is_dropped() -> None:
    started: list[str] = []
    release = asyncio.Event()

    async def app(scope, receive, send):  # an app that holds its slot until released
        started.append(scope["path"])
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    settings = AdmissionSettings(
        concurrency={"score": 1, "reads": 1, "writes": 1},
        queue={"score": 4, "reads": 4, "writes": 4},
        queue_timeout=30,
    )
    gate = Admission(app, lambda: settings)

    async def scenario() -> list[int]:
        sent: dict[str, list] = {"/v1/first": [], "/v1/second": []}
        gone = asyncio.Event()

        def client(path: str, leaves: asyncio.Event | None):
            messages = [{"type": "http.request", "body": b"", "more_body": False}]

            async def receive():
                if messages:
                    return messages.pop()
                await (leaves.wait() if leaves else asyncio.Event().wait())
                return {"type": "http.disconnect"}

            async def send(message):
                sent[path].append(message)

            scope = {"type": "http", "method": "GET", "path": path, "headers": []}
            return gate(scope, receive, send)

        first = asyncio.create_task(client("/v1/first", None))
        await asyncio.sleep(0.05)
        second = asyncio.create_task(client("/v1/second", gone))
        await asyncio.sleep(0.05)
        gone.set()  # the second client hangs up while queued behind the first
        await second
        release.set()
        await first
        return [len(sent["/v1/first"]), len(sent["/v1/second"])]

    counts = asyncio.run(scenario())
    assert started == ["/v1/first"] and counts == [2, 0]
    assert gate.counts["dropped_queued"] == 1 and gate.counts["admitted_reads"] == 1


def test_explain_budget_reads_the_settings() -> None:
    budget = ExplainBudget.of(
        ServingSettings(
            data_root=".",
            explain_max_rows=7,  # type: ignore
            explain_rows_per_minute=9,
        )
    )
    assert budget.max_rows == 7 and budget.per_key.burst == 9


@pytest.fixture(scope="module")
def guarded_server():
    """uvicorn on a free loopback port with the header timeout at 1 s."""
    guard_connections(1.0)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning", http="h11")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.05)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server closes the socket (bounded wait so a hang fails, never blocks)."""
    sock.settimeout(15)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_slow_header_and_idle_sockets_are_closed(guarded_server) -> None:
    slow = socket.create_connection(("127.0.0.1", guarded_server))
    slow.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")  # headers never finished
    idle = socket.create_connection(("127.0.0.1", guarded_server))  # sends nothing at all
    assert closed_by_server(slow) and closed_by_server(idle)
    served = socket.create_connection(("127.0.0.1", guarded_server))
    served.sendall(b"GET /ui HTTP/1.1\r\nHost: x\r\n\r\n")
    served.settimeout(15)
    assert served.recv(4096).startswith(b"HTTP/1.1 ")  # a complete request is answered


def test_wrong_method_is_405_and_unknown_query_parameters_422(service, sandbox) -> None:
    app, ctx, settings = service
    with TestClient(app) as client:
        for path in ("/v1/keys", "/v1/models/refresh"):
            wrong = client.put(path, headers=key(sandbox, "admin"))
            assert wrong.status_code == 405 and "POST" in wrong.headers["allow"], path
        assert client.get("/v1/nowhere", headers=key(sandbox, "admin")).status_code == 404
        typo = client.get(
            "/v1/leads", params={"distrct": "Haidian", "page": 1}, headers=key(sandbox, "admin")
        )
        assert typo.status_code == 422 and typo.json()["detail"][0]["loc"] == ["query", "distrct"]
        assert (
            client.get(
                "/v1/leads", params={"district": "Haidian"}, headers=key(sandbox, "admin")
            ).status_code
            == 200
        )
        spec = client.app.openapi()
    assert "400" in spec["paths"]["/v1/score"]["post"]["responses"]
    score_doc = spec["components"]["schemas"]["ScoreRequest"]
    assert "exactly one" in score_doc["description"].lower() and score_doc["x-rules"]
    reason = next(
        p
        for p in spec["paths"]["/v1/leads/{lead_id}"]["get"]["parameters"]
        if p["name"] == "reason"
    )
    assert "at least 5 characters" in reason["description"]


@pytest.mark.parametrize(
    "cell", ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"]
)
def test_csv_formula_cells_are_neutralised(cell) -> None:
    assert csv_cell(cell) == "'" + cell
    assert csv_cell(-1.25) == -1.25 and csv_cell("Haidian unit") == "Haidian unit"


def test_export_neutralises_an_assignee_typed_as_a_formula(service, sandbox) -> None:
    app, ctx, settings = service
    with TestClient(app) as client:
        lead = client.get(
            "/v1/leads",
            params={"district": "Haidian", "status": "new"},
            headers=key(sandbox, "admin"),
        ).json()["items"][0]["id"]
        assigned = client.post(
            f"/v1/leads/{lead}/assign",
            json={
                "unit": '=HYPERLINK("http://evil","x")',
                "assignee": "+cmd|' /C calc'!A0",
                "deadline": "2099-12-31",
            },
            headers=key(sandbox, "admin"),
        )
        assert assigned.status_code == 200
        text = client.get(
            "/v1/leads/export.csv", params={"district": "Haidian"}, headers=key(sandbox, "admin")
        ).text
    assert "'=HYPERLINK" in text and "'+cmd" in text
    assert not any(
        cell.startswith(("=", "+", "@")) for line in text.splitlines() for cell in line.split(",")
    )
