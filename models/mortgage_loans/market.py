"""Beijing's housing market, banks and addresses, as the loan scenario needs them.

Home values follow a district price level and a city-wide index over the years (a 2008 home is
worth several times its price by 2023), so an appraisal far above an *old* transaction price is
normal; far above a *recent* one is not. Figures are rounded public orders of magnitude, not data.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from pool.sim.people import to_days
from pool.spec import DISTRICTS

#: Price level of second-hand homes in 2023, yuan per square metre.
PRICE_PER_SQM: dict[str, float] = {
    "Dongcheng": 100_000,
    "Xicheng": 110_000,
    "Chaoyang": 70_000,
    "Fengtai": 55_000,
    "Shijingshan": 55_000,
    "Haidian": 90_000,
    "Mentougou": 35_000,
    "Fangshan": 30_000,
    "Tongzhou": 45_000,
    "Shunyi": 40_000,
    "Changping": 45_000,
    "Daxing": 45_000,
    "Huairou": 28_000,
    "Pinggu": 22_000,
    "Miyun": 24_000,
    "Yanqing": 20_000,
}
#: Districts where appraisers run hot (school districts, scarce stock): honest high appraisals.
HOT_DISTRICTS = ("Dongcheng", "Xicheng", "Haidian", "Chaoyang")
#: City-wide price index (2023 = 1) at the start of each year; linear in between.
_INDEX_YEARS = np.array(
    [2003, 2005, 2008, 2010, 2013, 2015, 2016, 2017, 2019, 2021, 2023, 2024, 2025, 2027]
)
_INDEX = np.array(
    [0.12, 0.16, 0.25, 0.40, 0.55, 0.65, 0.90, 1.05, 1.00, 1.05, 1.00, 0.93, 0.90, 0.88]
)
#: Where borrowers live and own (residential weight per district, official order).
HOME_WEIGHTS = np.array([3, 4, 14, 9, 3, 11, 2, 5, 8, 6, 9, 8, 2, 2, 2, 1], dtype="float64")
#: Where small businesses register and banks lend.
BUSINESS_WEIGHTS = np.array([6, 8, 16, 8, 3, 13, 1, 3, 6, 5, 6, 6, 2, 1, 1, 1], dtype="float64")

BANKS = np.array(
    [
        "工商银行",
        "建设银行",
        "农业银行",
        "中国银行",
        "交通银行",
        "招商银行",
        "北京银行",
        "民生银行",
        "中信银行",
        "光大银行",
        "浦发银行",
        "华夏银行",
    ]
)
BANK_WEIGHTS = np.array([14, 14, 10, 10, 7, 8, 9, 6, 6, 5, 5, 6], dtype="float64")
APPRAISERS = np.array(
    [
        f"北京{a}房地产土地评估有限公司"
        for a in (
            "华信",
            "中联",
            "国众",
            "首佳",
            "仁达",
            "金利安",
            "天健",
            "中企华",
            "东洲",
            "北方亚事",
            "康正宏基",
            "中恒信",
            "大地",
            "永业行",
            "德祥",
        )
    ]
)
_DISTRICT_CN = {
    "Dongcheng": "东城区",
    "Xicheng": "西城区",
    "Chaoyang": "朝阳区",
    "Fengtai": "丰台区",
    "Shijingshan": "石景山区",
    "Haidian": "海淀区",
    "Mentougou": "门头沟区",
    "Fangshan": "房山区",
    "Tongzhou": "通州区",
    "Shunyi": "顺义区",
    "Changping": "昌平区",
    "Daxing": "大兴区",
    "Huairou": "怀柔区",
    "Pinggu": "平谷区",
    "Miyun": "密云区",
    "Yanqing": "延庆区",
}
_STREETS = np.array(list("安和平兴华光明康建新阳东西南北中永丰望京德胜"))
_STREET_KIND = np.array(["路", "街", "大街", "里", "胡同"])


def _lookup(district: np.ndarray, table: dict) -> np.ndarray:
    """Per-district values for an array of district names (an unknown name is an error)."""
    keys = np.array(DISTRICTS)
    order = np.argsort(keys)
    pos = np.searchsorted(keys, district, sorter=order)
    idx = order[np.minimum(pos, len(keys) - 1)]
    if not (keys[idx] == np.asarray(district)).all():
        raise ValueError("unknown district in the loan scenario")
    return np.array([table[d] for d in DISTRICTS])[idx]


def price_index(days: np.ndarray) -> np.ndarray:
    """City-wide price index (2023 = 1) on each day."""
    year_days = np.array([to_days(date(int(y), 1, 1)) for y in _INDEX_YEARS])
    return np.interp(np.asarray(days, dtype="float64"), year_days, _INDEX)


def market_value(district: np.ndarray, area: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Fair value of a home of ``area`` m2 in ``district`` on each day, yuan."""
    level = _lookup(district, PRICE_PER_SQM).astype("float64")
    return level * np.asarray(area, dtype="float64") * price_index(days)


def addresses(
    district: np.ndarray, rng: np.random.Generator, *, office: bool = False
) -> np.ndarray:
    """Street addresses in Beijing: a home (building, unit, room) or an office (floor, room)."""
    n = len(district)
    dist = _lookup(district, _DISTRICT_CN).astype(str)
    street = np.char.add(
        np.char.add(rng.choice(_STREETS, n), rng.choice(_STREETS, n)), rng.choice(_STREET_KIND, n)
    )
    number = rng.integers(1, 300, n).astype(str)
    if office:
        tail = np.char.add(
            np.char.add(np.char.add("号", rng.integers(1, 30, n).astype(str)), "层"),
            np.char.add(rng.integers(101, 3000, n).astype(str), "室"),
        )
    else:
        tail = np.char.add(
            np.char.add(np.char.add("号院", rng.integers(1, 40, n).astype(str)), "号楼"),
            np.char.add(
                rng.integers(1, 6, n).astype(str),
                np.char.add("单元", np.char.add(rng.integers(101, 2800, n).astype(str), "室")),
            ),
        )
    return np.char.add(
        np.char.add(np.char.add(np.char.add("北京市", dist), street), number), tail
    ).astype(object)
