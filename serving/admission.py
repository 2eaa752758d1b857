"""Admission control: a bounded queue per route class, per-key rate limits, body timeouts and
dropping work for clients that have gone.

Why: under overload an unbounded queue turns every request into a timeout (the issue measured
472 of 800 timing out at 10 s while the server kept working for clients long gone). Refusing at
once with 429/503 and ``Retry-After`` keeps the admitted requests fast and tells clients when to
come back. Each route class (score, staff reads, writes) has ``concurrency`` slots and at most
``queue`` waiting requests; a request that cannot get a slot within ``queue_timeout`` seconds, or
finds the queue full, or would be expected to wait longer than that at the measured service time
(:class:`Gate`), is refused (503). A request whose client disconnects while it waits is
dropped without running; one that disconnects while running is cancelled (work already in a
worker thread finishes, and keeps its slot until it does, so cancelled work cannot pile up).
The body is read here, before a slot is taken, with ``body_timeout`` seconds per chunk (408), so
a slow upload holds no slot.

The Bento's typed endpoints (``/bento/score``, ``/bento/explain``) are served by BentoML, outside
the mounted app, so the service adds a second :class:`Admission` in front of them
(:func:`bento_route_class`); both middlewares share one :class:`Rationing`, so ``/v1/score`` and
``/bento/*`` draw from the same score slots and every key has one request budget.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .error_handling import error_response
from .limits import KeyedBuckets, key_of, retry_after

log = logging.getLogger("serving.admission")
CLASSES = ("score", "reads", "writes")
EXEMPT = ("/v1/health",)
#: Requests running at once per class. The routes' Python work holds the GIL, so beyond about
#: one per core more slots add waiting inside the process (and lag on the event loop, which then
#: answers even refusals late), not throughput: measured at 5x overload on 2 cores, reads at 4
#: slots gave a p99 of 2.2 s, at 2 slots 1.06 s (``make bench``, ``--only serving``).
DEFAULT_CONCURRENCY = {"score": 2, "reads": 2, "writes": 1}
DEFAULT_QUEUE = {"score": 16, "reads": 64, "writes": 32}
#: Longest wait for a slot; with the expected-wait bound most refusals come at once.
DEFAULT_QUEUE_TIMEOUT = 0.25


@dataclass
class AdmissionSettings:
    """Capacity per route class and the per-key request rate (see ``serving.settings``)."""

    concurrency: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CONCURRENCY))
    queue: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_QUEUE))
    queue_timeout: float = DEFAULT_QUEUE_TIMEOUT
    body_timeout: float = 10.0
    rate_per_minute: float = 6000.0
    rate_burst: float = 200.0
    #: Worker processes of the service: each rations its own slots and queues (they hold its
    #: CPU), but takes only its share of a key's rate, so the whole service grants a key at
    #: most ``rate_per_minute`` (a client on one kept-alive connection meets one worker's
    #: share; clients that open several connections are spread over the workers).
    workers: int = 1


def route_class(method: str, path: str) -> str | None:
    """The class a request to the mounted app is admitted under; None for what is not rationed
    (probes, UI)."""
    if not path.startswith("/v1/") or path in EXEMPT:
        return None
    if path == "/v1/score":
        return "score"
    return "reads" if method in ("GET", "HEAD") else "writes"


def bento_route_class(method: str, path: str) -> str | None:
    """The class of a request to the Bento's own endpoints: every ``/bento/*`` route scores
    (``/bento/score``, ``/bento/explain``); None for the rest, which the mounted app's own
    admission (``route_class``) or nothing (BentoML's probes, ``/metrics``) handles."""
    return "score" if path.startswith("/bento/") else None


class Gate:
    """``concurrency`` slots and at most ``queue`` waiters for one route class.

    The queue is also bounded by the expected wait: the gate keeps a moving average of how long
    a request holds a slot (its service time), and a request that would wait longer than the
    time it may wait (``(waiting + 1) * service / concurrency > timeout``) is refused at once,
    not after waiting ``timeout`` for nothing. So the queue is as deep as the deadline allows
    at the current speed: deep for fast requests, shallow when the machine is slow."""

    def __init__(self, concurrency: int, queue: int, smoothing: float = 0.2) -> None:
        if concurrency < 1 or queue < 0:
            raise ValueError("concurrency must be >= 1 and queue >= 0")
        self.slots = asyncio.Semaphore(concurrency)
        self.concurrency = concurrency
        self.queue = queue
        self.waiting = 0
        self.smoothing = smoothing
        self.service: float | None = None  # moving average of seconds a slot is held

    def expected_wait(self) -> float:
        """Seconds a request arriving now is expected to wait for a slot."""
        return (self.waiting + 1) * (self.service or 0.0) / self.concurrency

    def refuses_now(self, timeout: float) -> bool:
        """True when a request arriving now would be refused at once: every slot is taken
        and the queue is full or its expected wait is longer than ``timeout``. Read-only, so
        a layer in front may shed on it before the body is read (:class:`Shed`)."""
        return self.slots.locked() and (
            self.waiting >= self.queue or self.expected_wait() > timeout
        )

    async def enter(self, timeout: float) -> bool:
        """Take a slot within ``timeout`` seconds; False (at once) when the queue is full or
        the expected wait is longer, or when time ran out."""
        if not self.slots.locked():
            await self.slots.acquire()
            return True
        if self.refuses_now(timeout):
            return False
        self.waiting += 1
        try:
            await asyncio.wait_for(self.slots.acquire(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1

    def leave(self, held: float | None = None) -> None:
        """Free the slot; ``held``: the seconds it was held (updates the service time)."""
        if held is not None:
            self.service = (
                held
                if self.service is None
                else (self.smoothing * held + (1 - self.smoothing) * self.service)
            )
        self.slots.release()


class BodyTimeout(Exception):
    """The client sent no body bytes for ``body_timeout`` seconds."""


@dataclass(frozen=True)
class Ration:
    """One set of limits as a request sees it: the settings, their gates and per-key buckets."""

    settings: AdmissionSettings
    gates: dict[str, Gate]
    rates: KeyedBuckets


class Rationing:
    """The gates and per-key buckets of the current :class:`AdmissionSettings`, rebuilt when
    the settings object changes. One instance may be shared by several :class:`Admission`
    middlewares (the mounted app's and the Bento's), which then ration one capacity."""

    def __init__(self) -> None:
        self._current: Ration | None = None

    def of(self, settings: AdmissionSettings) -> Ration:
        """The :class:`Ration` of ``settings``: the one in use while they stay the same object."""
        now = self._current
        if now is None or now.settings is not settings:
            share = 1.0 / max(1, settings.workers)
            now = Ration(
                settings,
                {c: Gate(settings.concurrency[c], settings.queue[c]) for c in CLASSES},
                KeyedBuckets(
                    settings.rate_per_minute * share, max(1.0, settings.rate_burst * share)
                ),
            )
            self._current = now
        return now


#: Told of every refusal: (path, status, route class, seconds from arrival to the answer).
RefusalHook = Callable[[str, int, str, float], None]


class Admission:
    """ASGI middleware applying the :class:`AdmissionSettings` that ``current`` returns (the
    service replaces them when it starts; gates and buckets are rebuilt then). ``counts`` (a
    Counter shared with whoever passed it) tallies admitted, refused and dropped requests;
    ``rationing`` is the capacity drawn from (shared when given); ``classify`` says which
    requests are rationed and under which class; ``on_refusal`` is told of each 408/429/503
    this middleware answers (for metrics where no other middleware sees the answer)."""

    def __init__(
        self,
        app: ASGIApp,
        current: Callable[[], AdmissionSettings],
        counts: Counter[str] | None = None,
        rationing: Rationing | None = None,
        classify: Callable[[str, str], str | None] = route_class,
        on_refusal: RefusalHook | None = None,
    ) -> None:
        self.app = app
        self.current = current
        self.counts: Counter[str] = Counter() if counts is None else counts
        self.rationing = Rationing() if rationing is None else rationing
        self.classify = classify
        self.on_refusal = on_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        klass = (
            self.classify(scope.get("method", ""), scope.get("path", ""))
            if scope["type"] == "http"
            else None
        )
        if klass is None:
            await self.app(scope, receive, send)
            return
        arrived = time.perf_counter()
        now = self.rationing.of(self.current())  # one request, one set of limits
        settings, gate = now.settings, now.gates[klass]
        wait = now.rates.take(key_of(_secret(scope), (scope.get("client") or ("-",))[0]))
        if wait > 0:
            self.counts["rate_limited"] += 1
            await self._refuse(
                scope,
                send,
                429,
                f"rate limit of {settings.rate_per_minute:g} requests per minute per key reached",
                wait,
                klass,
                arrived,
            )
            return
        if gate.refuses_now(settings.queue_timeout):  # at capacity: no body is read for it
            await self._at_capacity(scope, send, klass, gate, arrived)
            return
        try:
            body = await self._read_body(receive, settings.body_timeout)
        except BodyTimeout:
            self.counts["body_timeout"] += 1
            await error_response(408, f"no request body bytes for {settings.body_timeout:g} s")(
                scope, _nothing, send
            )
            tell(self.on_refusal, scope, 408, klass, arrived)
            return
        await self._admit(klass, gate, settings.queue_timeout, scope, body, receive, send, arrived)

    async def _admit(
        self,
        klass: str,
        gate: Gate,
        queue_timeout: float,
        scope: Scope,
        body: list[Message],
        receive: Receive,
        send: Send,
        arrived: float,
    ) -> None:
        gone = asyncio.Event()
        watcher = asyncio.create_task(_watch_disconnect(receive, gone))
        try:
            entering = asyncio.create_task(gate.enter(queue_timeout))
            leaving = asyncio.create_task(gone.wait())
            await asyncio.wait({entering, leaving}, return_when=asyncio.FIRST_COMPLETED)
            leaving.cancel()
            if not entering.done():
                entering.cancel()
                self.counts["dropped_queued"] += 1
                if await _settled(entering):
                    gate.leave()
                return
            if not entering.result():
                await self._at_capacity(scope, send, klass, gate, arrived)
                return
            self.counts[f"admitted_{klass}"] += 1
            started = time.perf_counter()
            try:
                await self._run(scope, _replay(body, gone), send, gone)
            finally:
                gate.leave(time.perf_counter() - started)
        finally:
            watcher.cancel()

    async def _at_capacity(
        self, scope: Scope, send: Send, klass: str, gate: Gate, arrived: float
    ) -> None:
        self.counts[f"refused_{klass}"] += 1
        await self._refuse(
            scope,
            send,
            503,
            capacity_message(klass),
            max(1.0, gate.expected_wait()),
            klass,
            arrived,
        )

    async def _run(self, scope: Scope, receive: Receive, send: Send, gone: asyncio.Event) -> None:
        """Run the app; cancel it if the client goes away before its answer is complete."""
        answered = False

        async def tracking_send(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.body" and not message.get("more_body"):
                answered = True
            await send(message)

        async def serve() -> None:  # create_task takes a coroutine; the app is any awaitable
            await self.app(scope, receive, tracking_send)

        task = asyncio.create_task(serve())
        stop = asyncio.create_task(gone.wait())
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not task.done() and not answered:
            self.counts["cancelled_running"] += 1
            task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            if not gone.is_set():
                raise
            log.info("client gone: %s %s cancelled", scope.get("method"), scope.get("path"))

    async def _read_body(self, receive: Receive, timeout: float) -> list[Message]:
        """Every body message, each within ``timeout`` seconds."""
        messages: list[Message] = []
        while True:
            try:
                message = await asyncio.wait_for(receive(), timeout)
            except TimeoutError as exc:
                raise BodyTimeout from exc
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                return messages

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        status: int,
        message: str,
        wait: float,
        klass: str,
        arrived: float,
    ) -> None:
        await error_response(status, message, headers={"Retry-After": retry_after(wait)})(
            scope, _nothing, send
        )
        tell(self.on_refusal, scope, status, klass, arrived)


def tell(hook: RefusalHook | None, scope: Scope, status: int, klass: str, arrived: float) -> None:
    """Tell ``hook`` (when there is one) of a refusal answered ``status`` for ``scope``."""
    if hook is not None:
        hook(scope.get("path", ""), status, klass, time.perf_counter() - arrived)


def capacity_message(klass: str) -> str:
    """The error text of a 503 at capacity."""
    return f"the service is at capacity for {klass} requests"


class Shed:
    """ASGI middleware, the outermost of the service's own: a request of a rationed class
    that :meth:`Gate.refuses_now` would refuse is answered 503 with ``Retry-After`` here, from
    a body encoded once per class, before BentoML routes it, before its body is read, before
    the key is looked up, before the request id, access log or route metrics middlewares run.
    Under overload most requests are refusals, and each one that went the whole way down
    cost the event loop what the admitted requests needed (the issue measured 8,186 of 14,000
    answered within 1 s at 5x, one worker). It takes nothing: whatever passes still goes
    through :class:`Admission` (rate limit, body timeout, slot), which decides again."""

    def __init__(
        self,
        app: ASGIApp,
        current: Callable[[], AdmissionSettings],
        rationing: Rationing,
        counts: Counter[str] | None = None,
        classify: Callable[[str, str], str | None] = route_class,
        on_refusal: RefusalHook | None = None,
    ) -> None:
        self.app = app
        self.current = current
        self.rationing = rationing
        self.counts: Counter[str] = Counter() if counts is None else counts
        self.classify = classify
        self.on_refusal = on_refusal
        self._bodies = {k: _error_body(503, capacity_message(k)) for k in CLASSES}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            klass = self.classify(scope.get("method", ""), scope.get("path", ""))
            if klass is not None:
                arrived = time.perf_counter()
                now = self.rationing.of(self.current())
                gate = now.gates[klass]
                if gate.refuses_now(now.settings.queue_timeout):
                    self.counts[f"refused_{klass}"] += 1
                    self.counts["shed"] += 1
                    await _send_json(
                        send, 503, self._bodies[klass], retry_after(max(1.0, gate.expected_wait()))
                    )
                    tell(self.on_refusal, scope, 503, klass, arrived)
                    return
        await self.app(scope, receive, send)


def _error_body(status: int, message: str) -> bytes:
    """The bytes ``error_response`` would send for ``status`` and ``message``."""
    return bytes(error_response(status, message).body)


async def _send_json(send: Send, status: int, body: bytes, retry: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", retry.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _secret(scope: Scope) -> str | None:
    headers = dict(scope.get("headers") or [])
    auth = headers.get(b"authorization", b"").decode("latin-1")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get(b"x-api-key", b"").decode("latin-1").strip() or None


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


async def _settled(task: asyncio.Task) -> bool:
    """Wait for a cancelled task; True when it had completed with a slot anyway."""
    try:
        return bool(await task)
    except asyncio.CancelledError:
        return False


async def _watch_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    """After the body, the server's ``receive`` answers only when the client disconnects."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return


def _replay(body: list[Message], gone: asyncio.Event) -> Any:
    """A ``receive`` for the app: the body read earlier, then the disconnect when it comes."""
    pending = list(body)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        await gone.wait()
        return {"type": "http.disconnect"}

    return receive
