"""Masking of personal data in everything the service returns (对案不对人).

Two nets, in this order:

1. **By declaration.** A source column declared ``personal`` ("id", "name", "phone", "address";
   ``pool.spec.ColumnSpec.personal``) is masked in every record shown, whatever the value looks
   like: a mistyped, spaced, hyphenated, O-for-0 or 15-digit ID is still an ID, and a name has
   no shape a pattern could find. :func:`personal_columns` is the one place that knows where the
   declarations come from.
2. **By shape**, for free text (reasons, notes, audit details) and as a second net on records:
   resident ID numbers in every spelling the pool produces (18 characters, old 15-digit ones,
   lower-case x, blanks or hyphens between digits, the letter O for 0, an ID typed after a letter
   prefix such as a counterfeit certificate number ``T1101...``) and mainland mobile numbers.
   Matching is by shape, not by check character: a mistyped ID is still personal data. The
   birth-date test keeps all-digit credit codes from being mistaken for IDs.

A caller allowed to reveal states a reason; the routes audit it and then skip both nets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PersonalColumns = dict[str, dict[str, str]]

_DATE8 = r"(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_DATE6 = r"\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_ID18 = re.compile(rf"(\d{{6}}){_DATE8}(\d{{3}}[\dX])")
_ID15 = re.compile(rf"(\d{{6}}){_DATE6}(\d{{3}})")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_SEP = r"[ \-\u3000]?"
#: A run of 11 to 18 digits (or O/o for 0, x/X last) with at most one blank, hyphen or
#: ideographic space between any two; never starting or ending inside a longer run of digits.
_CANDIDATE = re.compile(
    rf"(?<![0-9])[0-9Oo](?:{_SEP}[0-9Oo]){{10,16}}(?:{_SEP}[0-9OoXx])?(?![0-9A-Za-z])"
    rf"(?!{_SEP}[0-9])"
)


def personal_columns(scenario: str) -> PersonalColumns:
    """``{table: {column: kind}}`` of the columns the scenario's source declarations mark as
    personal. The declarations are read from ``features.registry`` today; this is the one
    function to change when they move."""
    # deferred: keeps the model declarations off the service's import (cold start)
    from features.registry import get

    out: PersonalColumns = {}
    for source in get(scenario).sources:
        marked = {c.name: c.personal for c in source.columns if c.personal}
        if marked:
            out[source.table] = marked
    return out


def _canonical(run: str) -> str:
    """The run without separators, O read as 0, x upper-cased (``pool.keys.normalise_code``)."""
    return re.sub(r"[ \-\u3000]", "", run).upper().replace("O", "0")


def _mask_run(match: re.Match[str]) -> str:
    """The masked form of one candidate run, or the run unchanged when it is not an ID/phone."""
    run = match.group(0)
    code = _canonical(run)
    prefixed = match.start() > 0 and match.string[match.start() - 1].isalpha()
    if len(code) == 18 and (m := _ID18.fullmatch(code)):
        return f"{m.group(1)}********{m.group(2)}"
    if len(code) == 15 and not prefixed and (m := _ID15.fullmatch(code)):
        return f"{m.group(1)}******{m.group(2)}"
    if len(code) == 11 and not prefixed and _MOBILE.fullmatch(code):
        return f"{code[:3]}****{code[-4:]}"
    return run


def mask_text(text: str) -> str:
    """Mask every ID number and mobile number in ``text``, in any spelling the pool produces."""
    if len(text) < 11:
        return text
    return _CANDIDATE.sub(_mask_run, text)


def contains_id(text: str) -> bool:
    """True when ``text`` holds something shaped like a resident ID or mobile number."""
    return mask_text(text) != text


def mask_value(value: Any) -> Any:
    """Mask IDs inside any JSON-like value (strings, lists, dicts); other values pass through."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(item) for item in value]
    return value


def mask_personal(value: Any, kind: str) -> Any:
    """A declared personal value masked by its kind; None stays None.

    id: area code and last four kept (``110105********002X``), whatever the spelling;
    name: the first character (family name) kept; phone: first three and last four digits;
    address: the first six characters (city and district) kept."""
    if value is None:
        return None
    text = str(value)
    if kind == "id":
        code = _canonical(text.strip())
        return f"{code[:6]}********{code[-4:]}" if len(code) >= 15 else "*" * len(code)
    if kind == "phone":
        digits = re.sub(r"\D", "", text)
        return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else "*" * len(digits)
    if kind == "name":
        stripped = text.strip()
        return stripped[:1] + "*" * max(len(stripped) - 1, 1)
    if kind == "address":
        return text.strip()[:6] + "****"
    raise ValueError(f"unknown personal data kind {kind!r}")


def mask_rows(rows: list[dict[str, Any]], columns: Mapping[str, str]) -> list[dict[str, Any]]:
    """Records with their declared personal columns masked by kind."""
    return [
        {k: mask_personal(v, columns[k]) if k in columns else v for k, v in row.items()}
        for row in rows
    ]


def mask_evidence(evidence: dict[str, Any], declared: PersonalColumns) -> dict[str, Any]:
    """Source records (``serving.evidence`` shape: per table ``{"rows": [...], ...}``) masked
    by declaration, then by shape as the second net."""
    out = {}
    for table, found in evidence.items():
        columns = declared.get(table, {})
        rows = mask_rows(found.get("rows", []), columns) if columns else found.get("rows", [])
        out[table] = mask_value({**found, "rows": rows})
    return out
