"""A lean open-loop HTTP/1.1 load generator for the serving benchmark (loopback only).

Why not httpx: its asyncio client spends a few milliseconds of Python per request, so on a
shared 2-core machine the load generator saturated before the server did, and its own backlog
was reported as server latency (the server measured p50 0.24 s where httpx saw 6 s). Here each
request is bytes prepared once and written to a kept-alive connection; the answer is read by
its ``Content-Length`` (or chunks). Latency counts from the moment a request was due (open loop:
a stall is never hidden), and every request has a deadline (``timeout``), after which it is
counted as ``"timeout"``.

Kept-alive connections the server has closed meanwhile (uvicorn closes one idle for its
keep-alive timeout, 5 s under ``serving.launch``) are dropped before reuse, as HTTP clients
do: without that check, 36-41 requests per 20 s at 5x were counted as connection errors that
were this generator's (a reused socket the server had closed cleanly seconds earlier), not the
server's.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

Request = tuple[str, str, dict, dict | None]  # method, path, headers, JSON body


def encode(host: str, request: Request) -> bytes:
    """The request as HTTP/1.1 bytes (keep-alive, JSON body if any)."""
    method, path, headers, body = request
    payload = b"" if body is None else json.dumps(body).encode()
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}",
        "Connection: keep-alive",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Status code of one answer (its body read and dropped) and whether the server keeps the
    connection open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    fields = {
        k.strip().lower(): v.strip()
        for k, _, v in (line.partition(":") for line in lines[1:] if line)
    }
    if "content-length" in fields:
        await reader.readexactly(int(fields["content-length"]))
    elif fields.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, fields.get("connection", "").lower() != "close"


@dataclass
class Pool:
    """Idle kept-alive connections to one server."""

    host: str
    port: int
    idle: deque

    def reusable(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """The most recently used idle connection the server has not closed, or None."""
        while self.idle:
            reader, writer = self.idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                return reader, writer
            writer.close()  # closed by the server (keep-alive timeout) while idle
        return None

    async def send(self, data: bytes) -> int:
        """Send one request and return the status; a reused connection the server closes
        just as the request is written (the keep-alive race) is replaced once."""
        for attempt in range(2):
            kept = self.reusable()
            fresh = kept is None
            if kept is None:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            else:
                reader, writer = kept
            try:
                writer.write(data)
                await writer.drain()
                status, keep = await read_answer(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()
                if fresh or attempt:
                    raise
                continue
            except asyncio.CancelledError:  # the request's deadline passed: drop the connection
                writer.close()
                raise
            if keep:
                self.idle.append((reader, writer))
            else:
                writer.close()
            return status
        raise ConnectionError("unreachable")

    def close(self) -> None:
        while self.idle:
            self.idle.pop()[1].close()


async def open_loop(
    base: str, plan: Sequence[Request], rate: float, seconds: float, timeout: float
) -> list[dict]:
    """Send ``plan`` (cycled) at ``rate`` per second for ``seconds``; per request: when it was
    due (s from start), latency from that moment, and its status (``"timeout"``, or
    ``"error:<exception>"`` when the connection failed)."""
    url = urlsplit(base)
    host = f"{url.hostname}:{url.port}"
    encoded = [encode(host, r) for r in plan]
    pool = Pool(url.hostname or "127.0.0.1", url.port or 80, deque())
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2

    async def one(i: int) -> dict:
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        try:
            status: int | str = await asyncio.wait_for(
                pool.send(encoded[i % len(encoded)]), timeout
            )
        except TimeoutError:
            status = "timeout"
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            status = f"error:{type(exc).__name__}"  # named, so a refused connect shows as such
        return {"due": due - start, "latency": loop.time() - due, "status": status}

    try:
        return await asyncio.gather(*[one(i) for i in range(int(rate * seconds))])
    finally:
        pool.close()
