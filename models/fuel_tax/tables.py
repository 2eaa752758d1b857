"""The ``fuel_tax`` agency tables: each agency's view of the world, in its own formats.

Market regulation holds the registry (canonical codes and names); the tax bureau holds monthly
filings and the e-invoices suppliers issue; the transport / emergency-management system holds the
hazardous-goods waybills of every tanker load; traffic police count vehicles entering stations.
Only the registry and the tax bureau key records by credit code, and each types names and codes
its own way, so joins need normalisation (``pool.keys.normalise_code``, ``pool.names``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.fuel_tax.loads import OUTSIDE_SHIPPERS, Loads
from models.fuel_tax.world import (
    DISTRICT_CN,
    SCENARIO,
    Companies,
    Stations,
    _uscc_codes,
)
from pool.columns import categorical, numbered_ids
from pool.defects import (
    drop_rows,
    vary_names,
)
from pool.rng import component_rng
from pool.spec import SimConfig

_ROADS = (
    "建国路",
    "京开路",
    "广渠路",
    "西四环",
    "北苑路",
    "黄村路",
    "通燕路",
    "顺平路",
    "回龙观路",
    "良乡大街",
    "永定路",
    "京密路",
    "平谷大街",
    "妫水路",
    "南苑路",
    "成府路",
)
_HIGHWAYS = ("京藏高速", "京港澳高速", "京哈高速", "京承高速", "京沪高速", "京台高速", "京平高速")


def _addresses(companies: Companies, stations: Stations, rng: np.random.Generator) -> np.ndarray:
    """Street addresses; highway stations sit at a kilometre post of a motorway."""
    out = []
    kind = np.full(len(companies.code), "urban", dtype=object)
    kind[stations.idx_in_companies] = stations.kind
    roads = rng.integers(0, len(_ROADS), len(kind))
    ways = rng.integers(0, len(_HIGHWAYS), len(kind))
    numbers = rng.integers(1, 400, len(kind))
    for d, k, r, w, num in zip(companies.district, kind, roads, ways, numbers, strict=True):
        place = f"北京市{DISTRICT_CN[d]}区"
        if k == "highway":
            out.append(f"{place}{_HIGHWAYS[w]}{num % 90 + 10}公里处服务区")
        else:
            out.append(f"{place}{_ROADS[r]}{num}号")
    return np.array(out, dtype=object)


def registry_table(config: SimConfig, companies: Companies, stations: Stations) -> pd.DataFrame:
    """Market regulation's company registry (stations, depots and trading companies)."""
    rng = component_rng(config.seed, SCENARIO, "registry")
    n_all = len(companies.code)
    start = pd.Timestamp(config.start)
    opened_month = -rng.integers(24, 360, n_all)
    opened_month[stations.idx_in_companies] = stations.opened_month
    shells = companies.role == "shell"
    opened_month[shells] = -rng.integers(3, 30, shells.sum())
    opened_on = start + pd.to_timedelta(opened_month * 30.44 + rng.integers(0, 28, n_all), unit="D")
    holding = _uscc_codes(np.full(max(stations.chain.max() + 1, 1), "Chaoyang"), rng)
    investor = np.full(n_all, None, dtype=object)
    in_chain = stations.chain >= 0
    investor[stations.idx_in_companies[in_chain]] = holding[stations.chain[in_chain]]
    nozzles = pd.array([pd.NA] * n_all, dtype="Int64")
    tanks = pd.array([pd.NA] * n_all, dtype="Int64")
    nozzles[stations.idx_in_companies] = stations.nozzles
    tanks[stations.idx_in_companies] = stations.tanks
    capacity = np.full(n_all, np.nan)
    capacity[stations.idx_in_companies] = stations.tanks * rng.choice(
        [20.0, 30.0, 50.0], len(stations.tanks)
    )
    scope = {
        "station": "成品油零售",
        "supplier": "成品油批发、仓储",
        "shell": "化工产品(不含危险化学品)销售",
    }
    capital = np.round(np.exp(rng.normal(np.log(3e6), 0.8, n_all)), -4)
    return pd.DataFrame(
        {
            "credit_code": companies.code,
            "name": companies.name,
            "district": companies.district,
            "address": _addresses(companies, stations, rng),
            "business_scope": [scope[r] for r in companies.role],
            "opened_on": opened_on.normalize(),
            "registered_capital_yuan": capital,
            "investor_code": investor,
            "nozzles": nozzles,
            "tanks": tanks,
            "tank_capacity_m3": capacity,
        }
    )


def _agency_names(names: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """How one agency's master data spells each company (one spelling per company)."""
    return vary_names(names, rate, rng)[0]


def waybills_table(config: SimConfig, companies: Companies, loads: Loads) -> pd.DataFrame:
    """Hazardous-goods e-waybills: every registered tanker load, booked or not (ghost loads
    have none). Names only, no codes."""
    rng = component_rng(config.seed, SCENARIO, "waybills")
    stations_idx = np.flatnonzero(companies.role == "station")
    suppliers_idx = np.flatnonzero(companies.role == "supplier")
    carrier_a = _agency_names(companies.name[stations_idx], 0.35, rng)
    carrier_b = _agency_names(companies.name[stations_idx], 0.5, rng)
    shipper_names = np.concatenate(
        [_agency_names(companies.name[suppliers_idx], 0.3, rng), OUTSIDE_SHIPPERS]
    )
    system_b = rng.random(len(loads.station)) < 0.4
    consignee = loads.station + system_b * len(stations_idx)
    shipper = np.where(loads.supplier >= 0, loads.supplier, len(suppliers_idx) + loads.outside)
    df = pd.DataFrame(
        {
            "waybill_no": numbered_ids("YD", np.arange(len(loads.station)), 12),
            "shipper_name": categorical(shipper_names, shipper),
            "consignee_name": categorical(np.concatenate([carrier_a, carrier_b]), consignee),
            "consignee_district": categorical(companies.district[stations_idx], loads.station),
            "product": categorical(np.array(["汽油", "柴油"]), loads.product),
            "un_number": categorical(np.array(["UN1203", "UN1202"]), loads.product),
            "litres": loads.litres,
            "shipped_at": loads.shipped_at.astype("datetime64[us]"),
        }
    )
    df = drop_rows(df.assign(_seq=np.arange(len(df))), 0.005, rng)
    df = df[~loads.ghost[df["_seq"].to_numpy()]]  # unregistered tankers file no waybill
    order = np.lexsort((df["_seq"].to_numpy(), df["shipped_at"].to_numpy()))
    return df.iloc[order].drop(columns="_seq").reset_index(drop=True)
