"""Who is calling: API keys from the request, checked against the hashed keys of the lead store.

A key comes as ``Authorization: Bearer <secret>`` or ``X-API-Key: <secret>``. No key is a 401; a
key whose role the access matrix refuses for the route's action is a 403. The route receives the
caller and the reach it was granted, so district checks happen where the object is known.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from . import access
from .error_handling import ApiError

bearer = HTTPBearer(auto_error=False, description="API key as a bearer token")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")


@dataclass(frozen=True)
class Caller:
    """An authenticated caller and what the route's action grants it."""

    key_id: str
    name: str
    role: str
    district: str | None
    reach: access.Reach

    @property
    def actor(self) -> str:
        """How the caller is named in the lead history and the audit log."""
        return f"{self.name} (key {self.key_id})"

    def may_see(self, district: str | None) -> bool:
        """True when the caller's reach covers an object in ``district``."""
        return self.reach is access.Reach.ALL or (
            self.district is not None and district == self.district
        )

    def check_district(self, district: str | None, what: str) -> None:
        """403 when ``district`` is outside the caller's reach."""
        if not self.may_see(district):
            raise ApiError(403, f"{what} is outside your district ({self.district})")


def secret_from(request: Request) -> str | None:
    """The secret from ``Authorization: Bearer`` or ``X-API-Key``, whichever is present."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    key = request.headers.get("x-api-key", "").strip()
    return key or None


def identify(request: Request, authenticate: Callable[[str], Any]) -> Any:
    """The principal behind the request's key; 401 when the key is missing or unknown."""
    secret = secret_from(request)
    if secret is None:
        raise ApiError(401, "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key'")
    if len(secret) > 256:
        raise ApiError(401, "invalid API key")
    principal = authenticate(secret)
    if principal is None:
        raise ApiError(401, "invalid or revoked API key")
    return principal


def require(action: str) -> Callable[..., Awaitable[Caller]]:
    """A FastAPI dependency that authenticates and checks ``action`` against the matrix.

    The bearer and header schemes are declared as dependencies so the OpenAPI spec documents
    them; the key itself is read once by :func:`secret_from`. The dependency is a coroutine:
    a known key against a local (SQLite) lead store is one in-process fingerprint read, far
    cheaper than the hand-off to a worker thread and back that a plain ``def`` dependency
    costs on every request; a networked store's lookup still goes to a thread
    (``KeyCache.inline``), so the event loop never waits on the network.
    """
    access.reach(action, "admin")  # fail at startup for an undeclared action

    async def dependency(
        request: Request,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        _key: Annotated[str | None, Depends(api_key_header)],
    ) -> Caller:
        ctx = request.app.state.ctx
        principal = (
            identify(request, ctx.authenticate)
            if ctx.keys.inline
            else await run_in_threadpool(identify, request, ctx.authenticate)
        )
        granted = access.reach(action, principal.role)
        if granted is None:
            raise ApiError(403, f"role {principal.role!r} may not {action}")
        caller = Caller(
            key_id=str(principal.key_id),
            name=str(principal.name),
            role=principal.role,
            district=principal.district,
            reach=granted,
        )
        request.state.caller = caller
        return caller

    return dependency
