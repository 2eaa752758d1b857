"""Data defects that real agency tables carry, applied to clean simulated tables.

Agencies file late, skip months, re-file the same period, type names and codes their own way and
make typos in check characters. A model that only ever saw clean joins would break on the first
real extract, so every scenario passes its clean tables through these functions. Each one is pure:
it takes the data and a ``numpy.random.Generator`` and returns new data, so the same seed gives
the same defects.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from pool.keys import USCC_ALPHABET

#: Legal-form suffixes agencies keep, bracket or drop, longest first so the longest matches.
COMPANY_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司")
#: Branch suffixes some agencies append to a company name (one site of a chain).
BRANCH_SUFFIXES = ("分公司", "加油站", "经营部", "第一分公司", "第二加油站")
#: Kinds of name variant, in the order ``vary_names`` draws them.
NAME_VARIANTS = ("fullwidth", "spaces", "bracket_suffix", "drop_suffix", "branch")
#: Kinds of code variant, in the order ``vary_codes`` draws them.
CODE_VARIANTS = ("lower", "spaces", "hyphens", "letter_o")
ID_CHECK_ALPHABET = "0123456789X"

_FULLWIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)} | {" ": "\u3000"})


def drop_rows(df: pd.DataFrame, rate: float, rng: np.random.Generator) -> pd.DataFrame:
    """Drop a random share of rows: filings that never reached the pool (missing months)."""
    keep = rng.random(len(df)) >= rate
    return df.loc[keep].reset_index(drop=True)


def filing_dates(
    period_end: pd.Series,
    rng: np.random.Generator,
    *,
    late_rate: float = 0.06,
    very_late_rate: float = 0.015,
    deadline_days: int = 15,
) -> pd.Series:
    """When each filing reached the agency, given the end of the period it covers.

    Most are filed before the deadline (the 15th of the next month for Chinese monthly taxes);
    ``late_rate`` are days to weeks late and ``very_late_rate`` come months later (a back-filing
    after an audit letter), which is why point-in-time features must use ``filed_on``.
    """
    n = len(period_end)
    u = rng.random(n)
    on_time = rng.integers(1, deadline_days + 1, size=n)
    late = deadline_days + rng.integers(1, 46, size=n)
    very_late = deadline_days + rng.integers(60, 300, size=n)
    days = np.where(
        u < very_late_rate, very_late, np.where(u < very_late_rate + late_rate, late, on_time)
    )
    ends = pd.to_datetime(pd.Series(period_end).reset_index(drop=True))
    return ends + pd.to_timedelta(days, unit="D")


def duplicate_rows(
    df: pd.DataFrame,
    rate: float,
    rng: np.random.Generator,
    *,
    amend_columns: tuple[str, ...] = (),
    amend_share: float = 0.5,
    amend_scale: float = 0.05,
    filed_column: str | None = None,
) -> pd.DataFrame:
    """Append re-filings of a random share of rows, the copy placed right after its original.

    Half (``amend_share``) are amended re-filings: the numeric ``amend_columns`` change by a few
    percent and ``filed_column`` moves days to weeks later. The rest are identical copies (the
    same form sent twice). Consumers must pick one filing per key, usually the latest filed.
    """
    picked = np.flatnonzero(rng.random(len(df)) < rate)
    copies = df.iloc[picked].copy()
    amended = rng.random(len(picked)) < amend_share
    for col in amend_columns:
        factor = np.where(amended, 1.0 + rng.normal(0.0, amend_scale, len(picked)), 1.0)
        values = copies[col].to_numpy(dtype="float64") * factor
        if pd.api.types.is_integer_dtype(df[col].dtype):
            copies[col] = np.round(values).astype(df[col].dtype)
        else:
            copies[col] = np.round(values, 2)
    if filed_column is not None:
        delay = np.where(amended, rng.integers(3, 60, len(picked)), 0)
        copies[filed_column] = copies[filed_column] + pd.to_timedelta(delay, unit="D")
    order = np.concatenate([np.arange(len(df), dtype="float64"), picked + 0.5])
    out = pd.concat([df, copies], ignore_index=True)
    return out.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)


def _strip_suffix(name: str) -> tuple[str, str]:
    for suffix in COMPANY_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)], suffix
    return name, ""


def _name_variant(name: str, kind: str, rng: np.random.Generator) -> str:
    stem, suffix = _strip_suffix(name)
    if kind == "fullwidth":
        if any(ord(c) < 0x7F for c in name):
            return name.translate(_FULLWIDTH)
        return f"{name[:2]}\u3000{name[2:]}"  # an IME's full-width blank in an all-CJK name
    if kind == "spaces":
        cut = int(rng.integers(1, max(len(stem), 2)))
        return f" {stem[:cut]} {stem[cut:]}{suffix} "
    if kind == "bracket_suffix" and suffix:
        left, right = ("(", ")") if rng.random() < 0.5 else ("（", "）")
        return f"{stem}{left}{suffix}{right}"
    if kind == "drop_suffix" and suffix:
        return stem
    if kind == "branch":
        return name + BRANCH_SUFFIXES[int(rng.integers(len(BRANCH_SUFFIXES)))]
    return name.translate(_FULLWIDTH)


def vary_names(
    names: npt.ArrayLike, rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Rewrite a share of company names the way another agency types them.

    Variants: full-width characters (a full-width blank in an all-CJK name), stray spaces, the legal-form suffix in brackets or dropped,
    and a branch suffix. Returns the new names and the variant kind per row ("" if unchanged), so
    tests can check each kind is present and joins on raw names fail without normalisation.
    """
    out = np.asarray(names, dtype=object).copy()
    kinds = np.full(len(out), "", dtype=object)
    picked = np.flatnonzero(rng.random(len(out)) < rate)
    drawn = rng.integers(0, len(NAME_VARIANTS), len(picked))
    for i, k in zip(picked, drawn, strict=True):
        kinds[i] = NAME_VARIANTS[k]
        out[i] = _name_variant(str(out[i]), NAME_VARIANTS[k], rng)
    return out, kinds


def _code_variant(code: str, kind: str, rng: np.random.Generator) -> str:
    if kind == "lower":
        return code.lower()
    if kind == "spaces":
        return " ".join(code[i : i + 4] for i in range(0, len(code), 4))
    if kind == "hyphens":
        cut = int(rng.integers(2, 9))
        return f"{code[:cut]}-{code[cut:]}"
    if kind == "letter_o" and "0" in code:
        return code.replace("0", "O")
    return code.lower() if any(c.isalpha() for c in code) else f" {code} "


def vary_codes(
    codes: npt.ArrayLike, rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Rewrite a share of credit codes or ID numbers in the formats clerks type them.

    Variants: lower case (a lower-case x in an ID number), blanks between groups of four, a
    hyphen, and the letter O for the digit 0. ``pool.keys.normalise_code`` undoes all of them;
    the point is that an exact join does not. Returns new codes and the variant kind per row.
    """
    out = np.asarray(codes, dtype=object).copy()
    kinds = np.full(len(out), "", dtype=object)
    picked = np.flatnonzero(rng.random(len(out)) < rate)
    drawn = rng.integers(0, len(CODE_VARIANTS), len(picked))
    for i, k in zip(picked, drawn, strict=True):
        kinds[i] = CODE_VARIANTS[k]
        out[i] = _code_variant(str(out[i]), CODE_VARIANTS[k], rng)
    return out, kinds


def corrupt_check_chars(
    codes: npt.ArrayLike,
    rate: float,
    rng: np.random.Generator,
    *,
    alphabet: str = USCC_ALPHABET,
) -> tuple[np.ndarray, np.ndarray]:
    """Replace the last (check) character of a share of codes with a different valid character.

    The code stays well-formed but fails ``pool.keys.is_valid_uscc`` / ``is_valid_id``: the typo
    a clerk makes when copying a code by hand. Use ``ID_CHECK_ALPHABET`` for ID numbers. Returns
    the new codes and a boolean mask of the corrupted rows.
    """
    out = np.asarray(codes, dtype=object).copy()
    mask = rng.random(len(out)) < rate
    shifts = rng.integers(1, len(alphabet), len(out))
    for i in np.flatnonzero(mask):
        code = str(out[i])
        last = code[-1].upper()
        pos = alphabet.index(last) if last in alphabet else 0
        out[i] = code[:-1] + alphabet[(pos + int(shifts[i])) % len(alphabet)]
    return out, mask
