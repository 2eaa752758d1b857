"""Numbers and sentences for people: the formatting a declared reason template is filled with.

A reason template is a ``str.format`` template over ``value`` and ``peer`` (and, for a declared
ratio, ``numerator`` and ``denominator``). Besides Python's own format specs (``.0%``,
``,.0f``) a template may ask for

* ``{value:yuan}``: money, read the way the language reads it (``320万元``, ``2.3亿元``;
  ``3.2 million yuan``, ``12,500 yuan``);
* ``{value:n}``: a count with thousands separators (``1,234``);
* ``{value:pct}``: a percentage with as many decimals as a small share needs (``0.4%``, ``35%``);
* ``{value}`` (no spec): three significant digits with thousands separators.

Why a formatter of its own: the same declared value must read as ``3.2 million yuan`` to one
reader and ``320万元`` to another, and a raw float (``0.123456``, ``3200000``) must never reach a
prosecutor. When the peer figure is missing the clause that names it is dropped rather than
printed as "nan".
"""

from __future__ import annotations

import functools
import math
import re
import string
from typing import Any, SupportsFloat

LANGUAGES: tuple[str, ...] = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

# The clause holding {peer...}: after "; " / "；" / "，", or in brackets, up to the end.
_PEER_CLAUSE = re.compile(
    r"(?:\s*[;；，,]\s*|\s*[(（])[^;；()（）{}]*\{peer[^}]*\}[^;；()（）{}]*[)）]?\s*$"
)


def check_language(lang: str) -> str:
    """``lang`` if it is one the project writes reasons in, else a ValueError naming it."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not one of {', '.join(LANGUAGES)}")
    return lang


def missing(x: object) -> bool:
    """None, NaN or a non-number: nothing to print."""
    if x is None:
        return True
    try:
        return math.isnan(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def figure(x: object) -> float | str | None:
    """A row's value as ``fill`` takes it: text stays text, a number is a float, and anything
    else (None, NaN, a non-number) is None."""
    if isinstance(x, str):
        return x
    if not isinstance(x, SupportsFloat):
        return None
    value = float(x)
    return None if math.isnan(value) else value


def _trim(text: str) -> str:
    """``1.50`` -> ``1.5``, ``2.00`` -> ``2``."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def money(x: float, lang: str = DEFAULT_LANGUAGE) -> str:
    """Yuan as a reader of ``lang`` says it: 万 and 亿 in Chinese, thousands/millions in English."""
    sign = "-" if x < 0 else ""
    a = abs(float(x))
    if lang == "zh":
        if a >= 1e8:
            return f"{sign}{_trim(f'{a / 1e8:.2f}')}亿元"
        if a >= 1e4:
            return f"{sign}{_trim(f'{a / 1e4:.1f}')}万元"
        return f"{sign}{a:,.0f}元"
    if a >= 1e9:
        return f"{sign}{_trim(f'{a / 1e9:.2f}')} billion yuan"
    if a >= 1e6:
        return f"{sign}{_trim(f'{a / 1e6:.1f}')} million yuan"
    return f"{sign}{a:,.0f} yuan"


def count(x: float) -> str:
    """A whole number with thousands separators."""
    return f"{round(float(x)):,}"


def percent(x: float) -> str:
    """A share as a percentage: one decimal below 10% (0.4%), none above (35%)."""
    p = float(x) * 100
    if p != 0 and abs(p) < 10:
        return f"{_trim(f'{p:.1f}')}%"
    return f"{p:,.0f}%"


def general(x: float) -> str:
    """Three significant digits, thousands separators, no exponent."""
    v = float(x)
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    digits = max(0, 2 - int(math.floor(math.log10(abs(v)))))
    return _trim(f"{v:.{min(digits, 6)}f}")


class HumanFormatter(string.Formatter):
    """``str.format`` with the project's number specs (``yuan``, ``n``, ``pct``, none)."""

    def __init__(self, lang: str = DEFAULT_LANGUAGE) -> None:
        super().__init__()
        self.lang = check_language(lang)

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, str):
            return super().format_field(value, format_spec)
        if format_spec == "yuan":
            return money(value, self.lang)
        if format_spec == "n":
            return count(value)
        if format_spec == "pct":
            return percent(value)
        if format_spec == "":
            return general(value)
        # a bare precision spec (".1f", ".0%") gets thousands separators: 12,345 not 12345
        if format_spec.startswith(".") and format_spec[-1:] in ("f", "%"):
            format_spec = "," + format_spec
        return super().format_field(value, format_spec)


#: One formatter per language (it holds nothing but its language).
_FORMATTERS = {lang: HumanFormatter(lang) for lang in LANGUAGES}
Parts = tuple[tuple[str, str | None, str], ...]


@functools.lru_cache(maxsize=4096)
def _parts(template: str) -> Parts | None:
    """``template`` parsed once into (literal, field name, format spec) parts, or None when a
    field is positional, indexed, converted (``!r``) or has a nested spec: those go through
    ``string.Formatter`` as before. Why: a thousand explained rows fill some ten thousand
    templates, and re-parsing each one in ``string.Formatter.vformat`` was most of their cost."""
    parts = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        if name is not None and (conversion or not name.isidentifier() or "{" in (spec or "")):
            return None
        parts.append((literal, name, spec or ""))
    return tuple(parts)


@functools.lru_cache(maxsize=4096)
def _without_peer(template: str) -> str:
    """``template`` with the clause naming the peer figure dropped."""
    return _PEER_CLAUSE.sub("", template)


def fill(template: str, lang: str, **fields: float | str | None) -> str:
    """``template`` filled with human-formatted ``fields``; the peer clause is dropped when the
    peer figure is missing, and a field the template needs but lacks is a KeyError naming it.

    The same text as ``HumanFormatter(lang).format(template, **fields)`` (with those rules),
    from the template's cached parts (:func:`_parts`)."""
    formatter = _FORMATTERS.get(lang) or HumanFormatter(lang)  # an unknown language: its error
    if "peer" in fields and missing(fields["peer"]):
        template = _without_peer(template)
        fields = {k: v for k, v in fields.items() if k != "peer"}
    present = {k: v for k, v in fields.items() if not missing(v) or isinstance(v, str)}
    parts = _parts(template)
    if parts is None:
        return formatter.format(template, **present)
    out = []
    for literal, name, spec in parts:
        out.append(literal)
        if name is not None:
            out.append(formatter.format_field(present[name], spec))
    return "".join(out)
