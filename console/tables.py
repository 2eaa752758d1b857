"""Plain text tables for the command line: left-aligned text, right-aligned numbers.

Columns are aligned by display width, not by character count: a Chinese character takes two
terminal cells (East Asian Wide/Fullwidth), so ``str.ljust`` would push every column after a
station name out of line.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any


def cell(value: object) -> str:
    """How one value reads in a table."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float) and math.isnan(value):
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 1000 else f"{value:.3f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def width(text: str) -> int:
    """Terminal cells ``text`` takes: two for wide (CJK) characters, none for combining marks."""
    cells = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        cells += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return cells


def pad(text: str, cells: int, right: bool = False) -> str:
    """``text`` padded with spaces to ``cells`` display cells (on the left when ``right``)."""
    fill = " " * max(0, cells - width(text))
    return fill + text if right else text + fill


def format_table(rows: Sequence[Mapping[str, object]], columns: Sequence[str]) -> str:
    """``rows`` as an aligned table with a header and a rule; "(none)" when empty."""
    if not rows:
        return "(none)"
    body = [[cell(row.get(c)) for c in columns] for row in rows]
    numeric = [
        all(
            isinstance(row.get(c), int | float) and not isinstance(row.get(c), bool)
            for row in rows
            if row.get(c) is not None
        )
        for c in columns
    ]
    widths = [max(width(c), *(width(r[i]) for r in body)) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        parts = [pad(v, w, right=num) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(list(columns)), rule, *(line(r) for r in body)])


def format_frame(frame: Any) -> str:
    """A pandas DataFrame (its columns, not its index) as :func:`format_table` aligns it."""
    return format_table(frame.to_dict("records"), [str(c) for c in frame.columns])
