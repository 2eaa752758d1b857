"""VAT e-invoices for fuel purchases, as the tax bureau's invoice platform holds them.

A depot invoices each booked load to the station (a few days after delivery), under the product's
tax-category name. Renamed loads carry a chemical-product name. A few invoices are reversed by a
red-letter (negative) invoice and re-issued. Stations also buy sundries by the litre (AdBlue for
diesel trucks, engine oil): truck stops and motorway sites far more, an innocent reason for
non-oil purchases. Ghost loads (drift only) have no invoice. The set of possible invoices and
their numbers are fixed whatever the drift, so drift only removes rows after its month.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.fuel_tax.declared import VAT_RATE
from models.fuel_tax.loads import GAS, Loads
from models.fuel_tax.world import SCENARIO, Companies, Stations, month_starts
from pool.columns import categorical, numbered_ids
from pool.defects import corrupt_check_chars, vary_codes, vary_names
from pool.rng import component_rng
from pool.spec import SimConfig

OIL_PRODUCTS = (
    "*汽油*92号车用汽油(VIB)",
    "*汽油*95号车用汽油(VIB)",
    "*汽油*98号车用汽油(VIB)",
    "*柴油*0号车用柴油(VI)",
)
RENAMED_PRODUCTS = ("*有机化学原料*稳定轻烃", "*化工产品*复合柴油")
SUNDRY_PRODUCTS = ("*化学试剂*车用尿素溶液", "*润滑油*汽机油")
SUNDRY_PRICE = (2.6, 28.0)  # yuan per litre excl. VAT
PRODUCT_NAMES = OIL_PRODUCTS + RENAMED_PRODUCTS + SUNDRY_PRODUCTS
RED_LETTER_RATE = 0.004


@dataclass
class InvoiceTotals:
    """Per station and month of issue (n x months): input VAT and litres invoiced under an oil name."""

    input_vat: np.ndarray
    oil_litres: np.ndarray


@dataclass
class _Rows:
    """Invoice rows as arrays (company, station and product indices) before the frame is built."""

    seller: np.ndarray
    station: np.ndarray
    product: np.ndarray
    litres: np.ndarray
    unit: np.ndarray
    issued: np.ndarray  # datetime64[D]
    keep: np.ndarray

    def __add__(self, other: _Rows) -> _Rows:
        return _Rows(
            *(
                np.concatenate([a, b])
                for a, b in zip(vars(self).values(), vars(other).values(), strict=True)
            )
        )


def _product_code(loads: Loads) -> np.ndarray:
    """Index into PRODUCT_NAMES for every load."""
    oil = np.where(loads.product == GAS, loads.grade, 3)
    renamed = np.where(loads.product == GAS, 4, 5)
    return np.where(loads.renamed, renamed, oil)


def _superset(loads: Loads, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every invoice that could exist (booked, red-letter pairs) and whether it does."""
    size = len(loads.station)
    red = rng.random(size) < RED_LETTER_RATE
    red_delay = rng.integers(5, 21, size)
    price_noise = rng.uniform(0.985, 1.015, size)
    base = np.arange(size)
    red_rows = np.flatnonzero(red)  # drawn for every load, kept only for booked ones (below)
    load = np.concatenate([base, red_rows, red_rows])
    kind = np.concatenate(
        [np.zeros(size, int), np.ones(len(red_rows), int), np.full(len(red_rows), 2)]
    )
    keep = ~(loads.off_book | loads.ghost)[load]
    delay = loads.invoice_delay[load] + np.where(kind > 0, red_delay[load], 0)
    return {
        "load": load,
        "kind": kind,
        "keep": keep,
        "delay": delay,
        "price_noise": price_noise[load],
    }


def _fuel_rows(
    companies: Companies,
    loads: Loads,
    retail: tuple[np.ndarray, np.ndarray],
    rng: np.random.Generator,
) -> _Rows:
    """Invoices for loads: booked ones and red-letter pairs."""
    sup_idx = np.flatnonzero(companies.role == "supplier")
    sup = _superset(loads, rng)
    load = sup["load"]
    seller = sup_idx[np.maximum(loads.supplier[load], 0)]
    month = loads.month[load]
    price = np.where(loads.product[load] == GAS, retail[0][month], retail[1][month])
    discount = np.where(loads.renamed[load], 0.97, 1.0)
    unit = np.round(price * 0.88 / (1 + VAT_RATE) * sup["price_noise"] * discount, 4)
    litres = loads.litres[load] * np.where(sup["kind"] == 1, -1.0, 1.0)
    issued = loads.shipped_at[load].astype("datetime64[D]") + sup["delay"].astype("timedelta64[D]")
    product = _product_code(loads)[load]
    return _Rows(seller, loads.station[load], product, litres, unit, issued, sup["keep"])


def _sundry_rows(
    config: SimConfig,
    companies: Companies,
    stations: Stations,
    sold: tuple[np.ndarray, np.ndarray],
) -> _Rows:
    """Monthly AdBlue and engine-oil invoices; heavy-vehicle sites buy far more AdBlue."""
    rng = component_rng(config.seed, SCENARIO, "sundry_invoices")
    gas, diesel = sold
    n, months = map(int, gas.shape)
    heavy = np.isin(stations.kind, ["truck_stop", "highway"])
    adblue = np.where(heavy, rng.uniform(0.02, 0.05, n), rng.uniform(0.002, 0.008, n))
    oil = rng.uniform(0.0005, 0.002, n)
    litres = np.stack([diesel * adblue[:, None], (gas + diesel) * oil[:, None]])
    buys = rng.random(litres.shape) < np.where(heavy, 0.85, 0.3)[None, :, None]
    days = rng.random(litres.shape)
    noise = rng.uniform(0.95, 1.05, litres.shape)
    kind, station, month = np.nonzero(buys & (litres > 100))
    starts = month_starts(config)
    offset = np.floor(days[kind, station, month] * starts.days_in_month.to_numpy()[month])
    issued = starts.to_numpy().astype("datetime64[D]")[month] + offset.astype("timedelta64[D]")
    unit = np.round(np.array(SUNDRY_PRICE)[kind] * noise[kind, station, month], 4)
    sup_idx = np.flatnonzero(companies.role == "supplier")
    return _Rows(
        sup_idx[stations.main_supplier[station]],
        station,
        len(PRODUCT_NAMES) - len(SUNDRY_PRODUCTS) + kind,
        np.round(litres[kind, station, month], -1),
        unit,
        issued,
        np.ones(len(kind), dtype=bool),
    )


def invoices_table(
    config: SimConfig,
    companies: Companies,
    stations: Stations,
    loads: Loads,
    retail: tuple[np.ndarray, np.ndarray],
    sold: tuple[np.ndarray, np.ndarray],
) -> tuple[pd.DataFrame, InvoiceTotals]:
    """Purchase invoices to stations, ordered by issue date, and their monthly totals.

    Numbers, typos and every random draw are fixed over all invoices that could exist, so the
    drift option only removes invoices issued after its month.
    """
    rng = component_rng(config.seed, SCENARIO, "invoices")
    st_idx = np.flatnonzero(companies.role == "station")
    buyer_names = vary_names(companies.name[st_idx], 0.15, rng)[0]
    buyer_codes = vary_codes(companies.code[st_idx], 0.06, rng)[0]
    rows = _fuel_rows(companies, loads, retail, rng) + _sundry_rows(
        config, companies, stations, sold
    )
    amount = np.round(rows.litres * rows.unit, 2)
    vat = np.round(amount * VAT_RATE, 2)
    year = (rows.issued.astype("datetime64[Y]").astype(int) + 1970) % 100
    codes_values, codes_index = _corrupt_codes(buyer_codes, rows.station, 0.004, rng)
    end = (
        (month_starts(config)[-1] + pd.offsets.MonthEnd(0)).to_datetime64().astype("datetime64[D]")
    )
    keep = np.flatnonzero(rows.keep & (rows.issued <= end))
    oil = np.where(rows.product[keep] < len(OIL_PRODUCTS), rows.litres[keep], 0.0)
    totals = _totals(config, len(st_idx), rows.station[keep], rows.issued[keep], vat[keep], oil)
    keep = keep[np.lexsort((keep, rows.issued[keep]))]  # by issue date, then number
    # only the kept rows become a frame (numbers and typos are those of the whole superset)
    df = pd.DataFrame(
        {
            "invoice_no": numbered_ids(year[keep] * 100 + 11, keep, 16),
            "seller_code": categorical(companies.code, rows.seller[keep]),
            "seller_name": categorical(companies.name, rows.seller[keep]),
            "buyer_code": categorical(codes_values, codes_index[keep]),
            "buyer_name": categorical(buyer_names, rows.station[keep]),
            "product_name": categorical(np.array(PRODUCT_NAMES), rows.product[keep]),
            "quantity_litres": rows.litres[keep],
            "unit_price_yuan": rows.unit[keep],
            "amount_yuan": amount[keep],
            "vat_yuan": vat[keep],
            "issued_on": rows.issued[keep].astype("datetime64[us]"),
        }
    )
    return df, totals


def _totals(
    config: SimConfig,
    n: int,
    station: np.ndarray,
    issued: np.ndarray,
    vat: np.ndarray,
    oil_litres: np.ndarray,
) -> InvoiceTotals:
    """Sum invoices per station and month of issue."""
    months = config.months
    start = np.datetime64(config.start, "M")
    month = (issued.astype("datetime64[M]") - start).astype(np.int64)
    cell = station * months + month
    size = n * months
    vat_sum = np.bincount(cell, weights=vat, minlength=size).reshape(n, months)
    oil_sum = np.bincount(cell, weights=oil_litres, minlength=size).reshape(n, months)
    return InvoiceTotals(vat_sum, oil_sum)


def _corrupt_codes(
    values: np.ndarray, index: np.ndarray, rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A few codes typed with a wrong check character: new values and per-row indices.

    Drawn over every invoice that could exist (before drift filtering), so the same invoice gets
    the same typo with or without drift.
    """
    picked = np.flatnonzero(rng.random(len(index)) < rate)
    typos, _ = corrupt_check_chars(values[index[picked]], 1.0, rng)
    index = index.copy()
    index[picked] = len(values) + np.arange(len(picked))
    return np.concatenate([values, typos]), index
