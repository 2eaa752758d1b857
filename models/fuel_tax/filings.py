"""Monthly tax filings (tax bureau) and vehicle counts (traffic police) per station.

Filings carry what each station declared, filed by the 15th of the next month, or late, or
twice (an amended re-filing), or never (closed for works, or lost on the way to the pool).
Camera counts are a noisy proxy of true sales: cameras miss some entrances and the litres per
vehicle vary by station, so they help only in combination with the other sources.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.fuel_tax.declared import VAT_RATE, Declared
from models.fuel_tax.world import SCENARIO, Companies, Stations, month_starts
from pool.columns import categorical, numbered_ids
from pool.defects import (
    corrupt_check_chars,
    drop_rows,
    duplicate_rows,
    filing_dates,
    vary_codes,
    vary_names,
)
from pool.rng import component_rng
from pool.spec import SimConfig

MISSING_RATE = 0.02
DUPLICATE_RATE = 0.015
AMOUNT_COLUMNS = (
    "declared_gasoline_litres",
    "declared_diesel_litres",
    "fuel_revenue_yuan",
    "other_revenue_yuan",
    "output_vat_yuan",
    "consumption_tax_yuan",
)


@dataclass
class FilingFacts:
    """What really happened per station-month, for the crude rules and the truth."""

    exists: np.ndarray  # n x months: the station existed that month
    filed: np.ndarray  # n x months: the station really filed (closed stations may not)
    first_filed: np.ndarray  # n x months: when the first filing reached the pool (NaT: never)


def _station_months(stations: Stations, months: int) -> tuple[np.ndarray, np.ndarray]:
    exists = np.arange(months)[None, :] >= stations.opened_month[:, None]
    station, month = np.nonzero(exists)
    return station, month


def filings_table(
    config: SimConfig,
    companies: Companies,
    stations: Stations,
    declared: Declared,
    input_vat: np.ndarray,
) -> tuple[pd.DataFrame, FilingFacts]:
    """Monthly filings with the tax bureau's name and code formats, and their defects."""
    rng = component_rng(config.seed, SCENARIO, "filings")
    n, months = map(int, declared.gas.shape)
    station, month = _station_months(stations, months)
    codes = companies.code[stations.idx_in_companies]
    names = vary_names(companies.name[stations.idx_in_companies], 0.10, rng)[0]
    row_codes = vary_codes(codes[station], 0.02, rng)[0]
    row_codes = corrupt_check_chars(row_codes, 0.003, rng)[0]
    starts = month_starts(config)
    period = starts.to_numpy()[month]
    period_end = pd.Series((starts + pd.offsets.MonthEnd(0)).to_numpy()[month])
    fuel, other = declared.fuel_revenue[station, month], declared.other_revenue[station, month]
    df = pd.DataFrame(
        {
            "filing_id": numbered_ids("SB", np.arange(len(station)), 10),
            "taxpayer_code": pd.Series(row_codes, dtype="str"),
            "taxpayer_name": categorical(names, station),
            "period": pd.Series(period).astype("datetime64[us]"),
            "declared_gasoline_litres": np.round(declared.gas[station, month]),
            "declared_diesel_litres": np.round(declared.diesel[station, month]),
            "fuel_revenue_yuan": np.round(fuel, 2),
            "other_revenue_yuan": np.round(other, 2),
            "output_vat_yuan": np.round((fuel + other) * VAT_RATE, 2),
            "input_vat_yuan": np.round(input_vat[station, month], 2),
            "consumption_tax_yuan": np.round(declared.consumption_tax[station, month], 2),
            "filed_on": filing_dates(period_end, rng).astype("datetime64[us]"),
        }
    )
    closed_no_filing = stations.renovation & (rng.random(n) < 0.5)[:, None]
    filed = np.zeros((n, months), dtype=bool)
    filed[station, month] = ~closed_no_filing[station, month]
    df = df.assign(_cell=station * months + month).loc[filed[station, month]].reset_index(drop=True)
    df = drop_rows(df, MISSING_RATE, rng)
    df = duplicate_rows(
        df, DUPLICATE_RATE, rng, amend_columns=AMOUNT_COLUMNS, filed_column="filed_on"
    )
    exists = np.zeros((n, months), dtype=bool)
    exists[station, month] = True
    first = np.full(n * months, np.datetime64("NaT"), dtype="datetime64[us]")
    earliest = df.groupby("_cell")["filed_on"].min()
    first[earliest.index.to_numpy()] = earliest.to_numpy()
    return df.drop(columns="_cell"), FilingFacts(exists, filed, first.reshape(n, months))


def cameras_table(
    config: SimConfig,
    companies: Companies,
    stations: Stations,
    sold: tuple[np.ndarray, np.ndarray],
) -> pd.DataFrame:
    """Vehicles entering each camera-covered station per month (traffic police naming)."""
    rng = component_rng(config.seed, SCENARIO, "cameras")
    gas, diesel = sold
    n, months = map(int, gas.shape)
    names = vary_names(companies.name[stations.idx_in_companies], 0.6, rng)[0]
    covered = rng.random(n) < 0.95
    coverage = rng.uniform(0.55, 1.0, n)[:, None]
    per_car, per_truck = rng.uniform(32, 45, n)[:, None], rng.uniform(100, 220, n)[:, None]
    noise = rng.normal(1.0, 0.06, (2, n, months))
    trucks = diesel * 0.7 / per_truck * coverage * noise[1]
    vehicles = (gas / per_car + diesel * 0.3 / per_car) * coverage * noise[0] + trucks
    station, month = _station_months(stations, months)
    df = pd.DataFrame(
        {
            "site_name": categorical(names, station),
            "district": categorical(stations.district, station),
            "period": pd.Series(month_starts(config).to_numpy()[month]).astype("datetime64[us]"),
            "vehicles_entered": np.round(vehicles[station, month]).astype(np.int64),
            "heavy_vehicles_entered": np.round(trucks[station, month]).astype(np.int64),
        }
    )
    df = df.loc[covered[station]].reset_index(drop=True)
    return drop_rows(df, 0.02, rng)
