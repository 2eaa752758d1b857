"""``console.parsers``: a module's description read from its source, without importing it."""

from __future__ import annotations

import inspect

import pytest

import console.exits
from console.parsers import command_parser, description, module_docstring, module_parser


def test_module_docstring_is_the_modules_own() -> None:
    assert module_docstring("console.exits") == inspect.cleandoc(console.exits.__doc__ or "")


def test_module_parser_is_described_by_the_first_paragraph() -> None:
    parser = module_parser("console.exits")
    assert parser.prog == "python -m console.exits"
    assert parser.description == description(console.exits.__doc__)
    assert parser.description == command_parser("x", console.exits.__doc__).description


def test_a_missing_module_is_named() -> None:
    with pytest.raises(LookupError, match="console.no_such_module"):
        module_docstring("console.no_such_module")
