"""Vectorised generators for the people, codes and dates the certificate and loan scenarios share.

``pool.keys`` checks one identifier at a time; a simulation draws tens of thousands at once, so
these functions compute the same check characters (same weights, same alphabets) on numpy arrays.
Tests compare them with ``pool.keys`` so the two can never disagree.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from pool.keys import USCC_ALPHABET, id_check_chars, uscc_check_chars
from pool.spec import SimConfig

#: The administrative division code (GB/T 2260) of each of the 16 Beijing districts.
DISTRICT_CODES: dict[str, str] = {
    "Dongcheng": "110101",
    "Xicheng": "110102",
    "Chaoyang": "110105",
    "Fengtai": "110106",
    "Shijingshan": "110107",
    "Haidian": "110108",
    "Mentougou": "110109",
    "Fangshan": "110111",
    "Tongzhou": "110112",
    "Shunyi": "110113",
    "Changping": "110114",
    "Daxing": "110115",
    "Huairou": "110116",
    "Pinggu": "110117",
    "Miyun": "110118",
    "Yanqing": "110119",
}

# Common surnames with rough frequency weights (the top of the national surname table).
_SURNAMES = np.array(
    list(
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    )
)
_SURNAME_W = np.linspace(7.0, 0.6, len(_SURNAMES))
_GIVEN = np.array(
    list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰海波斌宇鹏浩飞龙林峰云亮成俊")
)
#: Characters clerks confuse for a homophone or near-homograph when typing a name by ear.
NAME_TYPOS: dict[str, str] = {
    "伟": "玮",
    "芳": "方",
    "娜": "纳",
    "敏": "民",
    "静": "靜",
    "丽": "莉",
    "强": "墙",
    "磊": "垒",
    "军": "君",
    "洋": "阳",
    "勇": "永",
    "艳": "燕",
    "杰": "洁",
    "娟": "鹃",
    "涛": "滔",
    "明": "铭",
    "超": "潮",
    "秀": "绣",
    "霞": "侠",
    "平": "萍",
    "刚": "钢",
    "桂": "贵",
    "英": "瑛",
    "华": "桦",
    "建": "健",
    "国": "果",
    "志": "智",
    "红": "宏",
    "玉": "钰",
    "兰": "岚",
    "海": "浩",
    "波": "博",
    "斌": "彬",
    "宇": "雨",
    "鹏": "朋",
    "浩": "皓",
    "飞": "菲",
    "龙": "隆",
    "林": "琳",
    "峰": "锋",
    "云": "芸",
    "亮": "靓",
    "成": "诚",
    "俊": "骏",
}
# Uyghur names written with the interpunct that other agencies drop or replace.
_MINORITY_FIRST = np.array(["买买提", "阿不都", "艾力", "吐尔逊", "热合曼", "阿迪力", "麦麦提"])
_MINORITY_LAST = np.array(["艾力", "吐尔洪", "阿布拉", "依明", "卡德尔", "沙吾提", "努尔"])

#: Where Beijing's construction workers and borrowers come from: county-level division codes.
ORIGIN_CODES = np.array(
    [
        "130124",
        "130431",
        "131081",
        "130684",
        "410122",
        "411323",
        "412726",
        "370283",
        "371321",
        "510322",
        "511324",
        "341222",
        "340823",
        "230125",
        "220183",
        "110105",
        "110108",
        "110112",
        "110114",
        "110115",
    ]
)
ORIGIN_WEIGHTS = np.array(
    [8, 6, 5, 4, 7, 6, 4, 5, 4, 5, 4, 4, 3, 3, 2, 4, 3, 4, 3, 3], dtype="float64"
)


def to_days(d: date) -> int:
    """Days since 1970-01-01: the integer day scale every simulation computes on."""
    return int(np.datetime64(d, "D").astype("int64"))


def days_to_dates(days: np.ndarray) -> pd.Series:
    """Integer days since the epoch to a pandas datetime series (day precision)."""
    return pd.Series(
        np.asarray(days, dtype="int64").astype("datetime64[D]").astype("datetime64[us]")
    )


def add_months(days: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """Shift day numbers by whole months (a certificate valid 6 years = 72 months).

    The day of month is clamped to 28 so every result is a real date.
    """
    d = np.asarray(days, dtype="int64").astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    dom = np.minimum((d - month).astype("int64"), 27)
    shifted = month + np.asarray(months, dtype="int64")
    return (shifted.astype("datetime64[D]").astype("int64") + dom).astype("int64")


def _digits(n: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Random zero-padded digit strings of a fixed width."""
    return np.char.zfill(rng.integers(0, 10**width, n).astype(str), width)


def id_numbers(
    birth_days: np.ndarray, rng: np.random.Generator, origins: np.ndarray | None = None
) -> np.ndarray:
    """18-character resident ID numbers: origin code, birth date, sequence, check character."""
    n = len(birth_days)
    if origins is None:
        p = ORIGIN_WEIGHTS / ORIGIN_WEIGHTS.sum()
        origins = rng.choice(ORIGIN_CODES, size=n, p=p)
    births = np.asarray(birth_days, dtype="int64").astype("datetime64[D]").astype(str)
    ymd = np.char.replace(births, "-", "")
    bodies = np.char.add(np.char.add(origins.astype("U6"), ymd), _digits(n, 3, rng))
    return np.char.add(bodies, id_check_chars(bodies)).astype(object)


def old_15_digit(ids: np.ndarray) -> np.ndarray:
    """The 15-digit ID number issued before 1999: no century digits, no check character."""
    s = np.asarray(ids, dtype="U18")
    return np.char.add(np.char.add(_slice(s, 0, 6), _slice(s, 8, 14)), _slice(s, 14, 17)).astype(
        object
    )


def _slice(s: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Vectorised fixed-position substring of equal-length strings."""
    width = s.dtype.itemsize // 4
    chars = s.view("U1").reshape(len(s), width)[:, start:stop]
    return np.ascontiguousarray(chars).view(f"U{stop - start}").ravel()


def uscc_codes(districts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unified social credit codes of enterprises ("91" + division + 9 characters + check)."""
    n = len(districts)
    division = pd.Series(np.asarray(districts, dtype=object)).map(DISTRICT_CODES)
    if division.isna().any():
        bad = sorted(set(np.asarray(districts)[division.isna().to_numpy()]))
        raise ValueError(f"uscc_codes: unknown district(s) {bad}")
    alphabet = np.array(list(USCC_ALPHABET))
    org = np.ascontiguousarray(alphabet[rng.integers(0, len(alphabet), size=(n, 9))])
    org_str = org.view("U9").ravel()
    bodies = np.char.add(np.char.add("91", division.to_numpy(dtype="U6")), org_str)
    return np.char.add(bodies, uscc_check_chars(bodies)).astype(object)


def person_names(n: int, rng: np.random.Generator, minority_share: float = 0.01) -> np.ndarray:
    """Chinese personal names: a weighted surname and one or two given-name characters.

    A small share are Uyghur names written with the interpunct (买买提·艾力), which other
    agencies type without it: an innocent source of name mismatches.
    """
    p = _SURNAME_W / _SURNAME_W.sum()
    sur = rng.choice(_SURNAMES, size=n, p=p)
    g1 = rng.choice(_GIVEN, size=n)
    g2 = np.where(rng.random(n) < 0.6, rng.choice(_GIVEN, size=n), "")
    names = np.char.add(np.char.add(sur, g1), g2)
    minority = rng.random(n) < minority_share
    mnames = np.char.add(
        np.char.add(rng.choice(_MINORITY_FIRST, size=n), "·"), rng.choice(_MINORITY_LAST, size=n)
    )
    return np.where(minority, mnames, names).astype(object)


def vary_person_names(
    names: np.ndarray, rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Rewrite a share of personal names the way another agency's clerk types them.

    Homophone typos (张伟 -> 张玮), and for names with an interpunct the dot dropped or replaced.
    Returns the new names and a boolean mask of the rows that changed.
    """
    out = np.asarray(names, dtype=object).copy()
    picked = np.flatnonzero(rng.random(len(out)) < rate)
    changed = np.zeros(len(out), dtype=bool)
    for i in picked:  # only the picked few percent
        name = str(out[i])
        if "·" in name:
            new = name.replace("·", "." if rng.random() < 0.5 else "")
        else:
            pos = [k for k in range(1, len(name)) if name[k] in NAME_TYPOS]
            if not pos:
                continue
            k = pos[int(rng.integers(len(pos)))]
            new = name[:k] + NAME_TYPOS[name[k]] + name[k + 1 :]
        out[i] = new
        changed[i] = True
    return out, changed


def phone_numbers(n: int, rng: np.random.Generator) -> np.ndarray:
    """Mainland mobile numbers (11 digits, common 13x/15x/18x prefixes)."""
    prefixes = np.array(
        ["138", "139", "135", "136", "137", "150", "151", "158", "186", "188", "133", "177"]
    )
    return np.char.add(rng.choice(prefixes, size=n), _digits(n, 8, rng)).astype(object)


def birth_days(
    n: int,
    ref_day: int,
    rng: np.random.Generator,
    mean_age: float,
    sd: float,
    lo: float = 20.0,
    hi: float = 62.0,
) -> np.ndarray:
    """Birth dates (epoch days) for people of a given age distribution at ``ref_day``."""
    age = np.clip(rng.normal(mean_age, sd, n), lo, hi)
    return (ref_day - age * 365.25).astype("int64")


def weighted_choice(n: int, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices 0..len(weights)-1 drawn with the given (unnormalised) weights."""
    w = np.asarray(weights, dtype="float64")
    return rng.choice(len(w), size=n, p=w / w.sum())


def check_config(config: SimConfig, scenario: str) -> None:
    """Refuse a configuration the simulation cannot honour, naming the field at fault."""
    if not config.scale > 0:
        raise ValueError(f"{scenario}: SimConfig.scale must be positive, got {config.scale}")
    if config.months < 1:
        raise ValueError(f"{scenario}: SimConfig.months must be at least 1, got {config.months}")
    if config.drift_month is not None and not 0 <= config.drift_month < config.months:
        raise ValueError(
            f"{scenario}: SimConfig.drift_month must be in [0, {config.months}), "
            f"got {config.drift_month}"
        )
