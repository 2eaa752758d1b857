"""Argument parsers for the module entry points, so ``supervision train --help`` and
``python -m training.train --help`` print the same complete text under the right name."""

from __future__ import annotations

import argparse
import ast
import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

#: The name the ``supervision`` tool runs a module's main under (``supervision train``).
_PROG: ContextVar[str | None] = ContextVar("prog", default=None)


@contextmanager
def running_as(prog: str) -> Iterator[None]:
    """Within the block, parsers made by :func:`command_parser` call themselves ``prog``."""
    token = _PROG.set(prog)
    try:
        yield
    finally:
        _PROG.reset(token)


def prog(default: str) -> str:
    """The name to show: the ``supervision`` subcommand running this entry point, else
    ``default`` (``python -m ...``)."""
    return _PROG.get() or default


def description(doc: str | None) -> str:
    """A module docstring's first paragraph, whole (never cut at its first line break)."""
    text = (doc or "").strip()
    first = text.split("\n\n", 1)[0]
    return " ".join(line.strip() for line in first.splitlines())


def command_parser(
    prog: str, doc: str | None, epilog: str | None = None, **kwargs: Any
) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` named ``prog`` (or the ``supervision`` subcommand running it) whose
    description is ``doc``'s first paragraph. A bad option exits 2 (argparse's own rule, which
    is also the project's: see :mod:`console.exits`)."""
    return argparse.ArgumentParser(
        prog=_PROG.get() or prog, description=description(doc), epilog=epilog, **kwargs
    )


def module_docstring(module: str) -> str | None:
    """``module``'s docstring read from its source, without importing it (only its parent
    packages are imported, to find it), so a light parser can describe a heavy module."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        raise LookupError(f"no Python source found for module {module!r}")
    with open(spec.origin, encoding="utf-8") as source:
        return ast.get_docstring(ast.parse(source.read(), spec.origin))


def module_parser(module: str, epilog: str | None = None, **kwargs: Any) -> argparse.ArgumentParser:
    """:func:`command_parser` for ``python -m <module>``, described by the module's docstring
    (read by :func:`module_docstring`, so the module is not imported)."""
    return command_parser(f"python -m {module}", module_docstring(module), epilog, **kwargs)
