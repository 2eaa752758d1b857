"""Refuse query parameters a route does not declare (422 naming them).

Why: a misspelt filter (``?distrct=Haidian``) silently ignored returns every district's leads,
which looks like an answer; naming the unknown parameter tells the caller at once.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from .error_handling import ApiError


def declared_query(dependant: Any) -> set[str]:
    """Query parameter names (aliases) of a route's dependant and all its sub-dependencies."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= declared_query(sub)
    return names


async def known_query_only(request: Request) -> None:
    """Router dependency: 422 listing every query parameter the route does not declare."""
    route = request.scope.get("route")
    if route is None or not request.query_params:
        return
    unknown = sorted(set(request.query_params) - declared_query(route.dependant))
    if unknown:
        raise ApiError(
            422,
            f"unknown query parameter(s): {', '.join(unknown)[:300]}",
            [
                {
                    "loc": ["query", name[:64]],
                    "msg": "not a parameter of this route",
                    "type": "extra_forbidden",
                }
                for name in unknown[:20]
            ],
        )
