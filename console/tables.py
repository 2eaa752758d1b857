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


#: Column headers per language (a column it does not name keeps its own name, as in English).
HEADERS: dict[str, dict[str, str]] = {
    "zh": {
        "id": "编号",
        "scenario": "模型",
        "entity_id": "对象",
        "district": "区",
        "status": "状态",
        "score": "分值",
        "rank": "排名",
        "model_version": "版本",
        "unit": "承办单位",
        "assignee": "承办人",
        "deadline": "期限",
        "overdue": "逾期",
        "amount": "涉案金额",
        "amount_unit": "单位",
        "days_overdue": "逾期天数",
        "at": "时间",
        "from_status": "原状态",
        "to_status": "新状态",
        "actor": "操作人",
        "note": "备注",
        "recorded_at": "记录时间",
        "run_id": "训练批次",
        "assigned_at": "交办时间",
        "assigned_by": "交办人",
        "outcome": "核查结果",
        "amount_recovered": "挽回金额",
        "case_reference": "案号",
        "issued": "下发",
        "verified": "已核查",
        "cases": "成案",
        "no_case": "未成案",
        "invalid": "无效",
        "conversion": "成案率",
        "lower": "下限",
        "upper": "上限",
        "model_name": "模型名",
        "day": "日期",
        "leads": "线索",
    }
}
EMPTY = {"zh": "（无）", "en": "(none)"}


def header(column: str, lang: str = "zh") -> str:
    """How ``column`` is headed in ``lang`` (zh by default; en keeps the column's name)."""
    return HEADERS.get(lang, {}).get(column, column)


def format_table(
    rows: Sequence[Mapping[str, object]], columns: Sequence[str], lang: str = "zh"
) -> str:
    """``rows`` as an aligned table with a header (in ``lang``) and a rule; "(none)" when
    empty."""
    if lang not in EMPTY:
        raise ValueError(f"unknown table language {lang!r}; use {', '.join(EMPTY)}")
    if not rows:
        return EMPTY[lang]
    body = [[cell(row.get(c)) for c in columns] for row in rows]
    numeric = [
        all(
            isinstance(row.get(c), int | float) and not isinstance(row.get(c), bool)
            for row in rows
            if row.get(c) is not None
        )
        for c in columns
    ]
    heads = [header(c, lang) for c in columns]
    widths = [max(width(h), *(width(r[i]) for r in body)) for i, h in enumerate(heads)]

    def line(values: Sequence[str]) -> str:
        parts = [pad(v, w, right=num) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(heads), rule, *(line(r) for r in body)])


def format_frame(frame: Any, lang: str = "en") -> str:
    """A pandas DataFrame (its columns, not its index) as :func:`format_table` aligns it;
    headed by the frame's own column names unless ``lang`` says otherwise."""
    return format_table(frame.to_dict("records"), [str(c) for c in frame.columns], lang)
