"""The web domains that certificate QR codes point to, honest and counterfeit.

An honest card's QR code opens the national lookup site, Beijing's, the issuing province's, or a
training platform's query page. Counterfeiters register look-alike domains: cheap ones a few weeks
before selling (the blatant kind) or aged ones that look official (what careful rings use, and
what everyone uses after drift). Kept apart from the scenario module so the name lists live in
one place.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from pool.sim.blanks import blank_where, or_blank
from pool.sim.people import to_days

REGISTRANT_KINDS = (
    "government",
    "public_institution",
    "company",
    "individual",
    "privacy_protected",
)

#: Sites on the Ministry of Emergency Management's published list of lookup sites:
#: domain -> (registered on, province code prefix it serves, "" for national/any).
OFFICIAL: dict[str, tuple[date, str]] = {
    "cx.mem.gov.cn": (date(2018, 11, 6), ""),
    "yjglj.beijing.gov.cn": (date(2019, 1, 21), "11"),
    "yjgl.hebei.gov.cn": (date(2018, 12, 3), "13"),
    "yjglt.henan.gov.cn": (date(2018, 12, 20), "41"),
    "yjt.shandong.gov.cn": (date(2019, 1, 8), "37"),
    "yjt.sc.gov.cn": (date(2018, 11, 29), "51"),
    "yjt.ah.gov.cn": (date(2019, 2, 14), "34"),
    "yjgl.hlj.gov.cn": (date(2019, 3, 1), "23"),
    "yjt.jl.gov.cn": (date(2019, 1, 30), "22"),
}
NATIONAL = "cx.mem.gov.cn"
BEIJING = "yjglj.beijing.gov.cn"

#: Training institutions and industry platforms whose own query pages honest cards link to:
#: not on the official list, registered by companies, some recently (a new platform).
THIRD_PARTY: dict[str, date] = {
    "bjaqpx.com": date(2012, 5, 14),
    "jzaqpx.cn": date(2015, 9, 2),
    "tzzypx.com.cn": date(2016, 3, 22),
    "anquanpeixun.cn": date(2014, 7, 9),
    "jgpx-bj.cn": date(2019, 6, 18),
    "zhuzhupx.com": date(2020, 10, 27),
    "bjjzpx.org.cn": date(2013, 11, 5),
    "aqzs-edu.cn": date(2021, 4, 12),
    "tezhongzuoye.com": date(2017, 8, 30),
    "yingjiedu.cn": date(2022, 2, 16),
    "gdpx-online.com": date(2023, 5, 8),
    "kaozheng-bj.cn": date(2024, 3, 19),
}

_BLATANT_PREFIX = np.array(["cx", "tzcx", "zscx", "czcx", "zgcx", "yjcx", "zhengshu", "tzzy"])
_BLATANT_CORE = np.array(["mem", "aqsc", "yjgl", "safety", "tzzy", "zs"])
_BLATANT_TLD = np.array([".top", ".xyz", ".cc", ".com", ".net", ".cn", ".vip"])
_AGED_PREFIX = np.array(["cx", "www", "zwfw", "yjglj", "cx-mem", "mem", "tzzy", "aqsc"])
_AGED_CORE = np.array(["mem-gov", "memgov", "mem-beijing", "yjglj-bj", "chinasafety", "gov-cx"])
_AGED_TLD = np.array([".com.cn", ".org.cn", ".cn", ".net.cn", ".gov-cn.com"])


def unique_names(names: np.ndarray) -> np.ndarray:
    """Make generated names unique by putting a number before the top-level domain."""
    s = pd.Series(names, dtype=object)
    dup = s.duplicated().to_numpy()
    if not dup.any():
        return names
    out = names.copy()
    idx = np.flatnonzero(dup)
    head = pd.Series(out[idx], dtype=object).str.split(".", n=1)
    out[idx] = [f"{h[0]}{i}.{h[1]}" for h, i in zip(head, idx, strict=True)]
    return unique_names(out)


def lookalike_names(n: int, rng: np.random.Generator, *, aged: bool) -> np.ndarray:
    """Look-alike lookup domains: cheap throwaway names, or aged official-looking ones."""
    prefix, core, tld = (
        (_AGED_PREFIX, _AGED_CORE, _AGED_TLD)
        if aged
        else (_BLATANT_PREFIX, _BLATANT_CORE, _BLATANT_TLD)
    )
    sep = rng.choice(np.array(["", "-", "."]), size=n, p=[0.4, 0.4, 0.2])
    names = np.char.add(
        np.char.add(np.char.add(rng.choice(prefix, size=n), sep), rng.choice(core, size=n)),
        rng.choice(tld, size=n),
    ).astype(object)
    return unique_names(names)


def reference_domains() -> pd.DataFrame:
    """Official and training-platform domains (their registration dates are public record)."""
    official = pd.DataFrame(
        {
            "domain": list(OFFICIAL),
            "registered_on": [to_days(d) for d, _ in OFFICIAL.values()],
            "registrant_kind": "government",
            "on_official_list": True,
        }
    )
    third = pd.DataFrame(
        {
            "domain": list(THIRD_PARTY),
            "registered_on": [to_days(d) for d in THIRD_PARTY.values()],
            "registrant_kind": "company",
            "on_official_list": False,
        }
    )
    return pd.concat([official, third], ignore_index=True)


def provincial_domain(prefixes: np.ndarray) -> np.ndarray:
    """The official lookup domain of each issuing province (national site where none is listed)."""
    by_prefix = {p: d for d, (_, p) in OFFICIAL.items() if p}
    return pd.Series(prefixes, dtype=object).map(by_prefix).fillna(NATIONAL).to_numpy(object)


def honest_domains(rng: np.random.Generator, area: np.ndarray) -> np.ndarray:
    """QR domain of a genuine card, given its issuing division (None: an old card without QR)."""
    n = len(area)
    u, v = rng.random(n), rng.random(n)
    area = np.asarray(area, dtype="U6")
    beijing = np.char.startswith(area, "11")
    third = np.asarray(list(THIRD_PARTY), dtype=object)[rng.integers(0, len(THIRD_PARTY), n)]
    province = provincial_domain(area.astype("U2"))
    official = np.where(
        ~beijing & (v < 0.35), province, np.where(beijing & (v < 0.13), BEIJING, NATIONAL)
    )
    return blank_where(u < 0.04, np.where(u < 0.12, third, official))


def fake_domains(
    rng: np.random.Generator, n: int, n_rings: int, scale: float, *, aged: bool
) -> tuple[np.ndarray, np.ndarray]:
    """A pool of counterfeit domains and, per record, one picked from it.

    The first ``n_rings`` names belong to the rings (ring r always uses name r); the others are
    picked at random by lone sellers.
    """
    size = n_rings + max(4, round((40 if aged else 60) * scale))
    names = lookalike_names(size, rng, aged=aged)
    pick = n_rings + rng.integers(0, size - n_rings, n)
    return names, pick


def fake_domain_table(
    rng: np.random.Generator, names: np.ndarray, used_day: pd.Series, *, aged: bool
) -> pd.DataFrame:
    """Registration records of the counterfeit domains actually used in QR codes.

    A throwaway domain is registered days to weeks before its first card is shown, an aged one
    half a year to three years before; registrants hide behind individuals or privacy services.
    """
    first = used_day.groupby(level=0).min()
    n = len(first)
    lead = rng.integers(180, 1100, len(names)) if aged else rng.integers(5, 90, len(names))
    kinds = np.array(REGISTRANT_KINDS, dtype=object)
    p = [0, 0, 0.6, 0.1, 0.3] if aged else [0, 0, 0.1, 0.5, 0.4]
    kind = kinds[rng.choice(len(kinds), size=len(names), p=p)]
    icp = or_blank(aged & (rng.random(len(names)) < 0.4), icp_numbers(len(names), rng))
    idx = first.index.to_numpy()
    return pd.DataFrame(
        {
            "domain": names[idx],
            "registered_on": first.to_numpy() - lead[idx],
            "registrant_kind": kind[idx],
            "icp_filing": icp[idx],
            "on_official_list": np.zeros(n, dtype=bool),
        }
    )


_ICP_PROVINCE = {
    "": "京",
    "11": "京",
    "13": "冀",
    "41": "豫",
    "37": "鲁",
    "51": "川",
    "34": "皖",
    "23": "黑",
    "22": "吉",
}


def icp_numbers(
    n: int, rng: np.random.Generator, provinces: np.ndarray | None = None
) -> np.ndarray:
    """ICP filing numbers as printed at the foot of a Chinese website (province abbreviation)."""
    if provinces is None:
        provinces = rng.choice(np.array(["京", "冀", "豫", "鲁", "川", "皖", "浙", "粤"]), n)
    digits = np.char.zfill(rng.integers(0, 10**8, n).astype(str), 8)
    return np.char.add(np.char.add(np.char.add(provinces, "ICP备"), digits), "号-1").astype(object)


def reference_icp(rng: np.random.Generator, table: pd.DataFrame) -> np.ndarray:
    """ICP numbers of the reference domains: the province a government site serves, else Beijing."""
    serves = {d: p for d, (_, p) in OFFICIAL.items()}
    prov = table["domain"].map(serves).fillna("").map(_ICP_PROVINCE).to_numpy(dtype="U1")
    return icp_numbers(len(table), rng, prov)
