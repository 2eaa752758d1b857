"""Masking of personal ID numbers in everything the service returns (对案不对人).

Resident ID numbers (GB 11643: 6-digit area, 8-digit birth date, 3-digit sequence, check
character) appear in source records (certificate holders, borrowers) and can leak into reasons.
They are masked to ``110105********002X`` unless a caller allowed to reveal them states a reason.
Matching is by shape, not by check character: agency data carries typos that break the check, and a
mistyped ID is still personal data. Organisation credit codes are not personal and stay visible;
the birth-date test keeps all-digit credit codes from being mistaken for IDs.
"""

from __future__ import annotations

import re
from typing import Any

_ID_PATTERN = re.compile(
    r"(?<![0-9A-Za-z])(\d{6})((?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))(\d{3}[\dXx])"
    r"(?![0-9A-Za-z])"
)


def mask_text(text: str) -> str:
    """Replace the birth date of every ID number in ``text`` by eight stars."""
    return _ID_PATTERN.sub(lambda m: f"{m.group(1)}********{m.group(3)}", text)


def contains_id(text: str) -> bool:
    """True when ``text`` holds something shaped like a resident ID number."""
    return _ID_PATTERN.search(text) is not None


def mask_value(value: Any) -> Any:
    """Mask IDs inside any JSON-like value (strings, lists, dicts); other values pass through."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(item) for item in value]
    return value
