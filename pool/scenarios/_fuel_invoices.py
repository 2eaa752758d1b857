"""VAT e-invoices for fuel purchases, as the tax bureau's invoice platform holds them.

A depot invoices each booked load to the station (a few days after delivery), under the product's
tax-category name. Renamed loads carry a chemical-product name. A few invoices are reversed by a
red-letter (negative) invoice and re-issued. After the drift month, off-book loads get cover
invoices from shell trading companies, so the waybill-vs-invoice gap closes. The set of possible
invoices and their numbers are fixed before drift is applied, so drift only adds rows after it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pool.columns import categorical, numbered_ids
from pool.defects import corrupt_check_chars, vary_codes, vary_names
from pool.random import component_rng
from pool.scenarios._fuel_declared import VAT_RATE
from pool.scenarios._fuel_loads import GAS, Loads
from pool.scenarios._fuel_world import SCENARIO, Companies, month_starts
from pool.spec import SimConfig

OIL_PRODUCTS = (
    "*汽油*92号车用汽油(VIB)",
    "*汽油*95号车用汽油(VIB)",
    "*汽油*98号车用汽油(VIB)",
    "*柴油*0号车用柴油(VI)",
)
RENAMED_PRODUCTS = ("*有机化学原料*稳定轻烃", "*化工产品*复合柴油")
RENAMED_AFTER_DRIFT = ("*化工产品*芳烃混合物", "*化工产品*轻质循环油")
PRODUCT_NAMES = OIL_PRODUCTS + RENAMED_PRODUCTS + RENAMED_AFTER_DRIFT
RED_LETTER_RATE = 0.004


@dataclass
class InvoiceTotals:
    """Per station and month of issue (n x months): input VAT and litres invoiced under an oil name."""

    input_vat: np.ndarray
    oil_litres: np.ndarray


def _product_code(config: SimConfig, loads: Loads) -> np.ndarray:
    """Index into PRODUCT_NAMES for every load."""
    oil = np.where(loads.product == GAS, loads.grade, 3)
    renamed = np.where(loads.product == GAS, 4, 5)
    if config.drift_month is not None:
        renamed = np.where(loads.month >= config.drift_month, renamed + 2, renamed)
    return np.where(loads.renamed, renamed, oil)


def _superset(config: SimConfig, loads: Loads, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every invoice that could exist (booked, cover, red-letter pairs) and whether it does."""
    size = len(loads.station)
    red = rng.random(size) < RED_LETTER_RATE
    red_delay = rng.integers(5, 21, size)
    price_noise = rng.uniform(0.985, 1.015, size)
    base = np.arange(size)
    red_rows = np.flatnonzero(red & ~loads.off_book)
    load = np.concatenate([base, red_rows, red_rows])
    kind = np.concatenate(
        [np.zeros(size, int), np.ones(len(red_rows), int), np.full(len(red_rows), 2)]
    )
    cover = loads.off_book[load] & (kind == 0)
    keep = ~loads.off_book[load]
    if config.drift_month is not None:
        keep = keep | (cover & (loads.month[load] >= config.drift_month))
    delay = np.where(cover, loads.cover_delay[load], loads.invoice_delay[load])
    delay = delay + np.where(kind > 0, red_delay[load], 0)
    return {
        "load": load,
        "kind": kind,
        "cover": cover,
        "keep": keep,
        "delay": delay,
        "price_noise": price_noise[load],
    }


def invoices_table(
    config: SimConfig,
    companies: Companies,
    loads: Loads,
    retail: tuple[np.ndarray, np.ndarray],
) -> tuple[pd.DataFrame, InvoiceTotals]:
    """Purchase invoices to stations (booked loads, red-letter pairs, cover invoices after drift)."""
    rng = component_rng(config.seed, SCENARIO, "invoices")
    st_idx = np.flatnonzero(companies.role == "station")
    sup_idx = np.flatnonzero(companies.role == "supplier")
    shell_idx = np.flatnonzero(companies.role == "shell")
    buyer_names = vary_names(companies.name[st_idx], 0.15, rng)[0]
    buyer_codes = vary_codes(companies.code[st_idx], 0.06, rng)[0]
    sup = _superset(config, loads, rng)
    load = sup["load"]
    seller = np.where(
        sup["cover"],
        shell_idx[loads.cover_shell[load] % len(shell_idx)],
        sup_idx[np.maximum(loads.supplier[load], 0)],
    )
    product = _product_code(config, loads)[load]
    month = loads.month[load]
    price = np.where(loads.product[load] == GAS, retail[0][month], retail[1][month])
    unit = np.round(
        price
        * 0.88
        / (1 + VAT_RATE)
        * sup["price_noise"]
        * np.where(loads.renamed[load], 0.97, 1.0),
        4,
    )
    sign = np.where(sup["kind"] == 1, -1.0, 1.0)
    litres = loads.litres[load] * sign
    amount = np.round(litres * unit, 2)
    issued = loads.shipped_at[load].astype("datetime64[D]") + sup["delay"].astype("timedelta64[D]")
    year = (issued.astype("datetime64[Y]").astype(int) + 1970) % 100
    df = pd.DataFrame(
        {
            "invoice_no": numbered_ids(year * 100 + 11, np.arange(len(load)), 16),
            "seller_code": categorical(companies.code, seller),
            "seller_name": categorical(companies.name, seller),
            "buyer_code": categorical(buyer_codes, loads.station[load]),
            "buyer_name": categorical(buyer_names, loads.station[load]),
            "product_name": categorical(np.array(PRODUCT_NAMES), product),
            "quantity_litres": litres,
            "unit_price_yuan": unit,
            "amount_yuan": amount,
            "vat_yuan": np.round(amount * VAT_RATE, 2),
            "issued_on": issued.astype("datetime64[us]"),
        }
    )
    df["buyer_code"] = _corrupt_codes(df["buyer_code"], 0.004, rng)
    end = month_starts(config)[-1] + pd.offsets.MonthEnd(0)
    keep = sup["keep"] & (df["issued_on"] <= end).to_numpy()
    totals = _totals(
        config,
        len(st_idx),
        loads.station[load][keep],
        issued[keep],
        df["vat_yuan"].to_numpy()[keep],
        np.where(product[keep] < len(OIL_PRODUCTS), litres[keep], 0.0),
    )
    rows = np.flatnonzero(keep)
    rows = rows[np.lexsort((rows, issued[rows]))]  # by issue date, then number
    return df.iloc[rows].reset_index(drop=True), totals


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


def _corrupt_codes(codes: pd.Series, rate: float, rng: np.random.Generator) -> pd.Series:
    """A few codes typed with a wrong check character, on a categorical column.

    Drawn over every possible invoice (before drift filtering), so the same invoice gets the
    same typo with or without drift.
    """
    picked = np.flatnonzero(rng.random(len(codes)) < rate)
    cats = codes.cat.categories.to_numpy(dtype=object)
    index = codes.cat.codes.to_numpy().astype(np.int64)
    typos, _ = corrupt_check_chars(cats[index[picked]], 1.0, rng)
    index[picked] = len(cats) + np.arange(len(picked))
    return categorical(np.concatenate([cats, typos]), index).set_axis(codes.index)
