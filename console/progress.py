"""Progress bars for long work (pool build, import, features, training stages), shown only on a
terminal and never in CI (``CI`` setting), so logs and captured output stay clean."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from settings import get_settings

T = TypeVar("T")
#: The bar on screen, so work started inside other work adds a line instead of a second
#: live display (which rich refuses).
_ACTIVE: ContextVar[Any] = ContextVar("progress", default=None)


def enabled() -> bool:
    """Bars are drawn only when standard error is a terminal and the ``CI`` setting is off."""
    return sys.stderr.isatty() and not get_settings().ci


@contextmanager
def progress(description: str, total: float | None = None) -> Iterator[Callable[..., None]]:
    """``with progress("building pool", total=4) as advance: ... advance()``.

    ``advance(n=1, description=None)`` moves the bar; a no-op when bars are off.
    """
    if not enabled():
        yield lambda *_args, **_kwargs: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    outer = _ACTIVE.get()
    if outer is not None:  # nested work (a pool built inside training): one more line
        task = outer.add_task(description, total=total)
        try:
            yield _advancer(outer, task)
        finally:
            outer.remove_task(task)
        return
    columns = [
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, transient=True) as bar:
        token = _ACTIVE.set(bar)
        try:
            yield _advancer(bar, bar.add_task(description, total=total))
        finally:
            _ACTIVE.reset(token)


def _advancer(bar: Any, task: Any) -> Callable[..., None]:
    def advance(n: float = 1, description: str | None = None) -> None:
        bar.update(task, advance=n, **({"description": description} if description else {}))

    return advance


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate ``items`` with a bar (named after each item when it is a string)."""
    items = list(items) if total is None else items
    count = total if total is not None else len(items)  # type: ignore[arg-type]
    with progress(description, total=count) as advance:
        for item in items:
            if isinstance(item, str):
                advance(0, description=f"{description}: {item}")
            yield item
            advance()
