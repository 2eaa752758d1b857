"""Canonical form of an organisation name as different agencies type it.

The reverse of ``pool.defects.vary_names`` for the variants that do not change who is meant:
full-width characters, blanks, and the legal-form suffix bracketed or dropped. Branch suffixes
are kept apart by ``split_branch`` because a branch is a different site of the same company.
"""

from __future__ import annotations

import unicodedata

from pool.defects import BRANCH_SUFFIXES, COMPANY_SUFFIXES

_BRACKETS = str.maketrans({"(": "", ")": "", "（": "", "）": ""})


def normalise_name(raw: object, *, drop_branch: bool = False) -> str | None:
    """Name without width differences, blanks, brackets or legal-form suffix; None if empty.

    ``drop_branch`` also removes a trailing branch suffix (``BRANCH_SUFFIXES``), mapping a
    branch to its company; only safe when company names never end in such a word.
    """
    if raw is None:
        return None
    text = unicodedata.normalize("NFKC", str(raw)).replace(" ", "").translate(_BRACKETS)
    if not text or text.upper() in {"NAN", "NONE"}:
        return None
    if drop_branch:
        text = split_branch(text)[0]
    for suffix in COMPANY_SUFFIXES:
        if text.endswith(suffix):
            return text[: -len(suffix)]
    return text


def split_branch(name: str) -> tuple[str, str]:
    """Split a normalised name into (company, branch suffix or "")."""
    for suffix in sorted(BRANCH_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], suffix
    return name, ""
