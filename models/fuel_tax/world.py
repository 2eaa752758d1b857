"""The true world behind the ``fuel_tax`` pool: stations, suppliers, who evades and how.

Everything here is the truth no agency sees directly: each station's kind and real sales, the
chains that move fuel between their own sites, the crooked supplier, and each evader's pattern
and shares. The agency tables (``_fuel_tables``) are views of this world through each agency's
eyes. All draws are made for every station whatever the configuration (drift included), so the
drift option can only change what happens after its month.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from pool.keys import USCC_ALPHABET, uscc_check_char
from pool.rng import component_rng
from pool.spec import DISTRICTS, SimConfig

SCENARIO = "fuel_tax"
#: Relative number of stations per district (more in the big outer-ring districts).
DISTRICT_WEIGHTS = dict(
    zip(DISTRICTS, (15, 15, 150, 90, 25, 95, 25, 75, 90, 80, 85, 100, 40, 35, 45, 35), strict=True)
)
DIVISION_CODES = dict(
    zip(
        DISTRICTS,
        (
            "110101",
            "110102",
            "110105",
            "110106",
            "110107",
            "110108",
            "110109",
            "110111",
            "110112",
            "110113",
            "110114",
            "110115",
            "110116",
            "110117",
            "110118",
            "110119",
        ),
        strict=True,
    )
)
DISTRICT_CN = dict(
    zip(
        DISTRICTS,
        (
            "东城",
            "西城",
            "朝阳",
            "丰台",
            "石景山",
            "海淀",
            "门头沟",
            "房山",
            "通州",
            "顺义",
            "昌平",
            "大兴",
            "怀柔",
            "平谷",
            "密云",
            "延庆",
        ),
        strict=True,
    )
)
CORE = {"Dongcheng", "Xicheng", "Chaoyang", "Haidian", "Fengtai", "Shijingshan"}
KINDS = ("urban", "highway", "truck_stop", "rural")
#: Month-of-year sales multipliers per kind (Spring Festival dip, holiday and tourist peaks).
SEASON = np.array(
    [
        [0.93, 0.85, 0.98, 1.00, 1.02, 1.01, 1.03, 1.04, 1.00, 1.06, 0.99, 0.98],
        [0.90, 1.05, 0.90, 1.05, 1.10, 0.95, 1.15, 1.20, 0.95, 1.35, 0.85, 0.85],
        [1.00, 0.70, 1.00, 1.05, 1.05, 1.05, 1.00, 1.00, 1.05, 1.00, 1.05, 1.05],
        [0.70, 0.75, 0.85, 1.00, 1.15, 1.20, 1.35, 1.40, 1.15, 1.20, 0.75, 0.70],
    ]
)
GAS_DENSITY, DIESEL_DENSITY = 0.745, 0.84  # kg per litre
#: Planted patterns and their target share of all stations (the network share comes from the
#: crooked suppliers' customers, see ``assign_fraud``).
PATTERN_RATES = {
    "cash_undeclared": 0.030,
    "subtle_underdeclare": 0.040,
    "off_book_purchases": 0.020,
    "product_renaming": 0.015,
    "cash_undeclared+off_book_purchases": 0.005,
    "subtle_underdeclare+product_renaming": 0.005,
}
NETWORK = "supplier_network"
CROOKED_CUSTOMER_SHARE = 0.02  # share of stations buying mainly from each crooked supplier
NETWORK_EVADER_SHARE = 0.6  # share of those customers that take off-book fuel
#: Half the evaders are at it when the horizon opens; the others start in a month spread evenly
#: over it (up to three months before its end), so there is always someone new to find.
LATE_START_SHARE = 0.5
#: The way of evading that drift brings: part of the fuel arrives by unregistered tanker, with
#: neither a hazardous-goods waybill nor an invoice, and only the rest is declared, so the
#: filings, waybills and invoices agree with each other; only traffic and size give it away.
GHOST = "ghost_supply"
GHOST_SHARE = (0.25, 0.45)  # share of deliveries an adapted evader takes by ghost tanker
DETERRED_SHARE = 0.6  # evaders active at the drift month who stop (the crackdown was public)


@dataclass
class Companies:
    """Stations, suppliers and shell traders with their registry facts (arrays, one per row)."""

    code: np.ndarray
    name: np.ndarray
    district: np.ndarray
    role: np.ndarray  # "station", "supplier", "shell"


@dataclass
class Stations:
    """Per-station truth (arrays of length n) and per-station-month truth (n x months)."""

    idx_in_companies: np.ndarray
    district: np.ndarray
    kind: np.ndarray
    opened_month: np.ndarray  # month index of opening; negative = before the horizon
    base_tpd: np.ndarray  # tonnes a day before seasonality
    gas_share: np.ndarray
    transfer_factor: np.ndarray  # deliveries / retail sales (chains move fuel between sites)
    chain: np.ndarray  # chain id, -1 if independent
    renovation: np.ndarray  # n x months, closed for works
    main_supplier: np.ndarray
    second_supplier: np.ndarray
    nozzles: np.ndarray
    tanks: np.ndarray


def _uscc_codes(district: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unique, valid unified social credit codes registered in each station's district."""
    alphabet = np.array(list(USCC_ALPHABET))
    codes: list[str] = []
    seen: set[str] = set()
    bodies = rng.integers(0, len(alphabet), size=(len(district), 7))
    for d, tail in zip(district, bodies, strict=True):
        body = "91" + DIVISION_CODES[d] + "MA" + "".join(alphabet[tail])
        while body in seen:  # astronomically rare; keep codes unique
            body = body[:-1] + USCC_ALPHABET[(USCC_ALPHABET.index(body[-1]) + 1) % 31]
        seen.add(body)
        codes.append(body + uscc_check_char(body))
    return np.array(codes, dtype=object)


_TRADE = list("鑫源华通金泰恒达瑞丰永盛宏远兴隆中油安捷顺发德利佳信广汇昌荣博润京能众诚")
_INDUSTRY = ("石油销售", "石化", "能源", "油品经营", "燃料")


def _company_names(
    district: np.ndarray, suffix_pool: tuple[str, ...], rng: np.random.Generator
) -> np.ndarray:
    """Unique Chinese company names ``北京<district?><trade><industry>有限公司``."""
    names: list[str] = []
    seen: set[str] = set()
    draws = rng.integers(0, len(_TRADE), size=(len(district), 4))
    kinds = rng.integers(0, len(suffix_pool), len(district))
    with_place = rng.random(len(district)) < 0.5
    for d, t, k, place in zip(district, draws, kinds, with_place, strict=True):
        stem = "".join(_TRADE[i] for i in t[:2]) if t[0] != t[1] else _TRADE[t[0]] + _TRADE[t[2]]
        prefix = "北京" + (DISTRICT_CN[d] if place else "")
        name = f"{prefix}{stem}{suffix_pool[k]}有限公司"
        extra = 2
        while name in seen:
            stem += _TRADE[t[extra % 4]]
            extra += 1
            name = f"{prefix}{stem}{suffix_pool[k]}有限公司"
        seen.add(name)
        names.append(name)
    return np.array(names, dtype=object)


def n_stations(scale: float) -> int:
    """About 1,000 stations at scale 1."""
    return max(40, round(1000 * scale))


def n_suppliers(scale: float) -> int:
    """About 20 suppliers (depots) at scale 1."""
    return max(4, round(20 * scale))


def n_crooked(scale: float) -> int:
    """One or two crooked suppliers at scale 1, growing with scale."""
    return max(1, round(1.5 * scale))


def make_companies(config: SimConfig) -> Companies:
    """Every company of the scenario: stations, supply depots and shell trading companies."""
    rng = component_rng(config.seed, SCENARIO, "companies")
    n, s = n_stations(config.scale), n_suppliers(config.scale)
    shells = max(2, round(4 * config.scale))
    weights = np.array([DISTRICT_WEIGHTS[d] for d in DISTRICTS], dtype=float)
    station_d = np.array(DISTRICTS, dtype=object)[rng.choice(16, n, p=weights / weights.sum())]
    outer = np.array([d for d in DISTRICTS if d not in CORE], dtype=object)
    other_d = outer[rng.integers(0, len(outer), s + shells)]
    district = np.concatenate([station_d, other_d])
    role = np.array(["station"] * n + ["supplier"] * s + ["shell"] * shells, dtype=object)
    names = np.concatenate(
        [
            _company_names(station_d, _INDUSTRY, rng),
            _company_names(other_d[:s], ("石油储运", "油品批发", "石化供应"), rng),
            _company_names(other_d[s:], ("商贸", "化工贸易", "物资"), rng),
        ]
    )
    return Companies(_uscc_codes(district, rng), names, district, role)


def _station_kinds(district: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    core = np.isin(district, list(CORE))
    p_core, p_outer = np.array([0.85, 0.05, 0.05, 0.05]), np.array([0.45, 0.15, 0.15, 0.25])
    u = rng.random(len(district))
    cum = np.where(core[:, None], np.cumsum(p_core), np.cumsum(p_outer))
    return np.array(KINDS, dtype=object)[(u[:, None] > cum).sum(axis=1)]


def _chains(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Chain ids (about 30% of stations in chains of 2-6) and transfer factors.

    A chain moves fuel between its own sites on internal slips that no agency sees, so a site
    can buy 12% less or 18% more than it sells, honestly; independents only lose a little to
    evaporation. This is what makes mild under-declaration hard to tell from honest noise.
    """
    in_chain = rng.random(n) < 0.3
    sizes = rng.integers(2, 7, n)
    chain = np.full(n, -1)
    members = np.flatnonzero(in_chain)
    ids = np.repeat(np.arange(len(members)), sizes[: len(members)])[: len(members)]
    chain[members] = ids
    factor = 1.004 + np.abs(rng.normal(0.0, 0.008, n))
    factor = np.where(in_chain, rng.uniform(0.88, 1.18, n), factor)
    return chain, factor


def make_stations(config: SimConfig, companies: Companies) -> Stations:
    """Stations' physical and commercial truth."""
    rng = component_rng(config.seed, SCENARIO, "stations")
    months = config.months
    idx = np.flatnonzero(companies.role == "station")
    n = len(idx)
    district = companies.district[idx]
    kind = _station_kinds(district, rng)
    new = rng.random(n) < 0.04
    opened = np.where(new, rng.integers(1, max(2, months - 3), n), -rng.integers(6, 300, n))
    base = np.exp(rng.normal(np.log(11.0), 0.35, n))
    base = np.clip(
        base * np.select([kind == "truck_stop", kind == "rural"], [1.3, 0.8], 1.0), 6, 26
    )
    gas = np.select(
        [kind == "highway", kind == "truck_stop", kind == "rural"], [0.6, 0.3, 0.7], 0.8
    )
    gas = np.clip(gas + rng.normal(0, 0.05, n), 0.15, 0.95)
    chain, factor = _chains(n, rng)
    renovation = np.zeros((n, months), dtype=bool)
    renovating = rng.random(n) < 0.03
    first = rng.integers(0, months, n)
    length = rng.integers(1, 5, n)
    m = np.arange(months)
    renovation = renovating[:, None] & (m >= first[:, None]) & (m < (first + length)[:, None])
    suppliers = _supplier_choice(config, n, rng)
    nozzles = np.clip(np.round(base / 1.8 + rng.normal(0, 1.2, n)), 4, 16).astype(np.int64)
    tanks = np.clip(np.round(nozzles * 0.7 + rng.normal(0, 0.6, n)), 3, 10).astype(np.int64)
    return Stations(
        idx,
        district,
        kind,
        opened,
        base,
        gas,
        factor,
        chain,
        renovation,
        suppliers[0],
        suppliers[1],
        nozzles,
        tanks,
    )


def _supplier_choice(
    config: SimConfig, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Main and second supplier index per station (suppliers 0..k-1 are the crooked ones)."""
    s, k = n_suppliers(config.scale), n_crooked(config.scale)
    honest_w = rng.pareto(1.5, s - k) + 0.3
    honest_w = honest_w / honest_w.sum() * (1 - CROOKED_CUSTOMER_SHARE * k)
    weights = np.concatenate([np.full(k, CROOKED_CUSTOMER_SHARE), honest_w])
    main = rng.choice(s, n, p=weights)
    second = rng.choice(s - k, n, p=honest_w / honest_w.sum()) + k
    return main, second


@dataclass
class Fraud:
    """Who evades, how, and from when (per station), plus the post-drift behaviour."""

    pattern: np.ndarray  # "none" or a pattern name (combinations joined by "+")
    start_month: np.ndarray  # first month of evasion (large for honest)
    cash_share: np.ndarray  # share of sales declared (1 = all)
    offbook_share: np.ndarray  # share of deliveries without invoice
    rename_share: np.ndarray  # share of invoiced fuel under a non-oil product name
    crooked_supplier: np.ndarray  # index of the crooked supplier feeding it, -1 if none
    stop_month: np.ndarray  # first month it no longer evades (large: never), see ``adapt``
    ghost_month: np.ndarray  # first month of ghost supply instead of its pattern (large: never)
    ghost_share: np.ndarray  # share of deliveries by ghost tanker from ``ghost_month`` on

    def old_ways(self, month: np.ndarray, station: np.ndarray) -> np.ndarray:
        """Whether ``station`` evades its original way in ``month`` (arrays broadcast)."""
        end = np.minimum(self.stop_month, self.ghost_month)[station]
        return (month >= self.start_month[station]) & (month < end)

    def ghosting(self, month: np.ndarray, station: np.ndarray) -> np.ndarray:
        """Whether ``station`` takes ghost deliveries in ``month``."""
        return (month >= self.ghost_month[station]) & (month < self.stop_month[station])


def _evasion_weight(stations: Stations) -> np.ndarray:
    """Relative propensity to evade: small independent stations in the outer districts.

    Big chain sites answer to head offices and auditors; small private ones are where cash
    goes undeclared, which also keeps typical evasion at a few million yuan per station.
    """
    outer = ~np.isin(stations.district, list(CORE))
    return (
        stations.base_tpd**-1.5
        * np.where(outer, 2.0, 1.0)
        * np.where(stations.chain >= 0, 0.5, 1.0)
    )


def _pick_patterns(stations: Stations, network: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Exact counts per pattern (prevalence is a design target, not a coin flip)."""
    n = len(network)
    pattern = np.where(network, NETWORK, "none").astype(object)
    free = np.flatnonzero(~network)
    weight = _evasion_weight(stations)[free]
    total = min(len(free), sum(int(round(rate * n)) for rate in PATTERN_RATES.values()))
    chosen = rng.choice(free, total, replace=False, p=weight / weight.sum())
    start = 0
    for name, rate in PATTERN_RATES.items():
        count = int(round(rate * n))
        pattern[chosen[start : start + count]] = name
        start += count
    return pattern


def assign_fraud(config: SimConfig, stations: Stations) -> Fraud:
    """Plant the evasion patterns at their target prevalence."""
    rng = component_rng(config.seed, SCENARIO, "fraud")
    n, months = len(stations.district), config.months
    k = n_crooked(config.scale)
    network = (stations.main_supplier < k) & (rng.random(n) < NETWORK_EVADER_SHARE)
    pattern = _pick_patterns(stations, network, rng)
    has = {
        p: np.array([p in str(x).split("+") for x in pattern]) for p in (*PATTERN_RATES, NETWORK)
    }
    late_start = rng.random(n) < LATE_START_SHARE
    start = np.where(late_start, rng.integers(1, max(2, months - 2), n), 0)
    start = np.where(pattern == "none", months + 1, start)
    cash = np.ones(n)
    cash = np.where(has["cash_undeclared"], rng.uniform(0.50, 0.70, n), cash)
    cash = np.where(has["subtle_underdeclare"], rng.uniform(0.85, 0.93, n), cash)
    offbook = np.where(has["off_book_purchases"], rng.uniform(0.15, 0.35, n), 0.0)
    offbook = np.where(network, rng.uniform(0.20, 0.40, n), offbook)
    rename = np.where(has["product_renaming"], rng.uniform(0.30, 0.60, n), 0.0)
    crooked = np.where(network, stations.main_supplier, -1)
    never = np.full(n, months + 1)
    fraud = Fraud(pattern, start, cash, offbook, rename, crooked, never, never.copy(), np.zeros(n))
    return adapt(config, fraud)


def adapt(config: SimConfig, fraud: Fraud) -> Fraud:
    """How evaders change their ways from the drift month (unchanged without drift).

    After a publicised crackdown on the filings-vs-waybills collision, ``DETERRED_SHARE`` of the
    evaders at work stop; the others, and every evader who starts later, take part of their fuel
    by ghost tanker instead of their old pattern (``GHOST``). The draws come from their own
    generator and are made whether or not drift is on, so nothing before the drift month changes.
    """
    rng = component_rng(config.seed, SCENARIO, "drift")
    n = len(fraud.pattern)
    deterred = rng.random(n) < DETERRED_SHARE
    share = rng.uniform(*GHOST_SHARE, n)
    drift = config.drift_month
    if drift is None or drift >= config.months:
        return fraud
    evader = fraud.pattern != "none"
    stops = evader & (fraud.start_month < drift) & deterred
    stop = np.where(stops, drift, fraud.stop_month)
    ghost = np.where(evader & ~stops, np.maximum(fraud.start_month, drift), fraud.ghost_month)
    return replace(
        fraud,
        stop_month=stop,
        ghost_month=ghost,
        ghost_share=np.where(ghost < config.months, share, 0.0),
    )


def month_starts(config: SimConfig) -> pd.DatetimeIndex:
    """First day of every simulated month."""
    return pd.date_range(pd.Timestamp(config.start), periods=config.months, freq="MS")


def true_sales(config: SimConfig, stations: Stations) -> tuple[np.ndarray, np.ndarray]:
    """Litres of gasoline and diesel really sold per station and month (n x months)."""
    rng = component_rng(config.seed, SCENARIO, "sales")
    starts = month_starts(config)
    n, months = len(stations.district), config.months
    days = starts.days_in_month.to_numpy()
    kind_idx = pd.Series(stations.kind).map({k: i for i, k in enumerate(KINDS)}).to_numpy(int)
    season = SEASON[kind_idx][:, starts.month.to_numpy() - 1]
    trend = 1.0 - 0.02 * np.arange(months) / 12  # electric cars eat into gasoline
    noise = rng.normal(1.0, 0.04, (n, months))
    m = np.arange(months)
    age = m[None, :] - stations.opened_month[:, None]
    ramp = np.select([age < 0, age == 0, age == 1], [0.0, 0.55, 0.8], 1.0)
    open_ = ramp * ~stations.renovation
    tonnes = stations.base_tpd[:, None] * days[None, :] * season * trend[None, :] * noise * open_
    share = np.clip(stations.gas_share[:, None] + rng.normal(0, 0.02, (n, months)), 0.05, 0.98)
    gas = tonnes * share * 1000 / GAS_DENSITY
    diesel = tonnes * (1 - share) * 1000 / DIESEL_DENSITY
    return gas, diesel


def prices(config: SimConfig) -> tuple[np.ndarray, np.ndarray]:
    """Retail prices (yuan per litre incl. VAT) of gasoline and diesel per month."""
    rng = component_rng(config.seed, SCENARIO, "prices")
    walk = np.cumsum(rng.normal(0, 0.025, config.months))
    gas = np.round(7.9 * np.exp(walk), 2)
    diesel = np.round(7.5 * np.exp(walk * 0.9 + rng.normal(0, 0.005, config.months)), 2)
    return gas, diesel
