"""Fast refusal (issue 15): a request the capacity refuses is answered 503 with Retry-After
before anything else is done for it.

The designed order is admission first: at capacity, a request is refused before its body is
read, before its key is looked up (so a bad key at capacity gets 503, not 401), and before any
route runs. :class:`serving.admission.Shed` (outermost in the Bento) refuses before BentoML
routes the request; :class:`serving.admission.Admission` (in the mounted app) refuses before
the body read when the gate already refuses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from serving.admission import Admission, AdmissionSettings, Rationing, Shed
from serving.app import attach, build_context, create_app
from serving.sandbox import SCENARIO
from serving.settings import ServingSettings

ONE_SLOT = AdmissionSettings(
    concurrency={"score": 1, "reads": 1, "writes": 1},
    queue={"score": 0, "reads": 0, "writes": 0},
    queue_timeout=0.0,
)


def request(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": path, "headers": headers}


async def answer(layer: Any, scope: dict[str, Any], reads: list[str]) -> list[dict]:
    """Send one request through ``layer`` whose body never arrives; ``reads`` records every
    call of ``receive`` (a refusal must not read the body)."""
    sent: list[dict] = []

    async def receive() -> dict:
        reads.append(scope["path"])
        await asyncio.Event().wait()  # a body that never comes
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await asyncio.wait_for(layer(scope, receive, send), 5)
    return sent


def holding_app(reached: list[str], release: asyncio.Event) -> Callable:
    async def app(scope, receive, send):  # stands for auth and the route: holds its slot
        reached.append(scope["path"])
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    return app


@pytest.mark.parametrize("layer", ["shed", "admission"])
def test_at_capacity_a_request_is_refused_before_its_body_or_the_app(layer: str) -> None:
    reached: list[str] = []
    reads: list[str] = []
    rationing = Rationing()
    counts: dict = {}

    async def scenario() -> list[dict]:
        release = asyncio.Event()
        inner = Admission(holding_app(reached, release), lambda: ONE_SLOT, rationing=rationing)
        front = Shed(inner, lambda: ONE_SLOT, rationing) if layer == "shed" else inner
        counts.update(front=front.counts)
        messages = [{"type": "http.request", "body": b"{}", "more_body": False}]

        async def first_receive() -> dict:
            if messages:
                return messages.pop()
            await asyncio.Event().wait()
            return {"type": "http.disconnect"}

        async def nowhere(message: dict) -> None:
            return None

        first = asyncio.create_task(inner(request("/v1/score", []), first_receive, nowhere))
        await asyncio.sleep(0.05)  # the first request holds the only score slot
        bad_key = [(b"authorization", b"Bearer not-a-key")]
        sent = await answer(front, request("/v1/score", bad_key), reads)
        release.set()
        await first
        return sent

    sent = asyncio.run(scenario())
    start = sent[0]
    assert start["status"] == 503
    headers = dict(start["headers"])
    assert headers[b"retry-after"] == b"1"
    assert b"capacity for score requests" in sent[1]["body"]
    assert reached == ["/v1/score"]  # only the first request reached the app
    assert reads == []  # the refused request's body was never read
    assert counts["front"]["refused_score"] == 1
    assert counts["front"].get("shed", 0) == (1 if layer == "shed" else 0)


def test_shed_passes_what_the_gate_would_admit_and_unrationed_paths() -> None:
    reached: list[str] = []

    async def app(scope, receive, send):
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    shed = Shed(app, lambda: ONE_SLOT, Rationing())
    for path in ("/v1/score", "/v1/health", "/ui/"):
        sent = asyncio.run(answer(shed, request(path, []), []))
        assert sent[0]["status"] == 204
    assert reached == ["/v1/score", "/v1/health", "/ui/"] and not shed.counts


def test_the_service_refuses_a_bad_key_at_capacity_without_looking_it_up(sandbox) -> None:
    """The real app on the sandbox: with the score slot taken, a bad key gets 503 (admission
    comes before auth) and the key cache is never asked; with the slot free it gets 401."""
    patch = pytest.MonkeyPatch()
    for name, value in sandbox.env(refresh_seconds=60).items():
        patch.setenv(name, value)
    settings = ServingSettings.from_env()
    app = create_app()
    ctx = build_context(settings)
    try:
        attach(app, ctx, replace(settings, admission=ONE_SLOT))
        lookups: list[str] = []
        real = ctx.keys.authenticate

        def counting(secret: str | None) -> Any:
            lookups.append("asked")
            return real(secret)

        patch.setattr(ctx.keys, "authenticate", counting)
        body = {"scenario": SCENARIO, "entity_ids": ["x"], "explain_top": 1}
        bad = {"Authorization": "Bearer abc.not-a-key"}

        async def post() -> httpx.Response:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return await client.post("/v1/score", json=body, headers=bad)

        async def saturated() -> httpx.Response:
            gate = app.state.rationing.of(app.state.admission).gates["score"]
            await gate.slots.acquire()  # the one score slot is busy
            try:
                return await post()
            finally:
                gate.slots.release()

        refused = asyncio.run(saturated())
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert lookups == []
        assert asyncio.run(post()).status_code == 401 and lookups == ["asked"]
    finally:
        ctx.close()
        patch.undo()
