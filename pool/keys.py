"""Identifier check characters used by Chinese agencies.

Two keys join agency tables: the 18-character unified social credit code of an organisation
(GB 32100-2015) and the 18-character resident ID number of a person (GB 11643-1999). Both end in a
check character, and real agency data carries typos that break it, so generators and validators
live together here.
"""

from __future__ import annotations

import numpy as np

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"


def uscc_check_char(body: str) -> str:
    """Return the check character for the first 17 characters of a credit code."""
    if len(body) != 17:
        raise ValueError(f"credit code body must have 17 characters, got {len(body)}")
    try:
        total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body, USCC_WEIGHTS, strict=True))
    except ValueError as exc:
        raise ValueError(f"credit code body {body!r} has a character outside the alphabet") from exc
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    """True when ``code`` is 18 characters from the alphabet with a correct check character."""
    if not isinstance(code, str) or len(code) != 18:
        return False
    if any(c not in USCC_ALPHABET for c in code):
        return False
    return uscc_check_char(code[:17]) == code[17]


def id_check_char(body: str) -> str:
    """Return the check character for the first 17 digits of a resident ID number."""
    if len(body) != 17 or not body.isdigit():
        raise ValueError(f"ID body must be 17 digits, got {body!r}")
    total = sum(int(c) * w for c, w in zip(body, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def is_valid_id(number: str) -> bool:
    """True when ``number`` is 17 digits plus a correct check character (digit or X)."""
    if not isinstance(number, str) or len(number) != 18 or not number[:17].isdigit():
        return False
    return id_check_char(number[:17]) == number[17].upper()


def normalise_code(raw: object) -> str | None:
    """Canonical form of a credit code or ID number as agencies type it.

    Strips blanks and separators, upper-cases, and maps the letters agencies confuse with digits
    (O for 0, I for 1). Returns None for empty input; validity is checked separately.
    """
    if raw is None:
        return None
    text = str(raw).strip().upper()
    if not text or text in {"NAN", "NONE"}:
        return None
    for sep in (" ", "-", "_", "\u3000", "."):
        text = text.replace(sep, "")
    return text.replace("O", "0").replace("I", "1")


def id_check_chars(bodies: np.ndarray) -> np.ndarray:
    """Check characters of many 17-digit ID bodies at once (vectorised ``id_check_char``)."""
    b = np.asarray(bodies, dtype="U17")
    digits = b.view(np.uint32).reshape(len(b), 17).astype("int64") - ord("0")
    total = digits @ np.asarray(ID_WEIGHTS, dtype="int64")
    return np.asarray(list(ID_CHECK_CHARS))[total % 11]


def uscc_check_chars(bodies: np.ndarray) -> np.ndarray:
    """Check characters of many 17-character credit-code bodies (vectorised ``uscc_check_char``)."""
    b = np.asarray(bodies, dtype="U17")
    lookup = np.zeros(128, dtype="int64")
    lookup[[ord(c) for c in USCC_ALPHABET]] = np.arange(len(USCC_ALPHABET))
    total = lookup[b.view(np.uint32).reshape(len(b), 17)] @ np.asarray(USCC_WEIGHTS, dtype="int64")
    return np.asarray(list(USCC_ALPHABET))[(31 - total % 31) % 31]
