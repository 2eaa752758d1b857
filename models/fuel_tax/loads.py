"""Tanker deliveries (the physical truth) and the money flows derived from them.

One row per tanker load: which depot filled it, which station received it, what product and how
many litres, and whether the sale was invoiced, invoiced under a non-oil name, or left off the
books. Waybills record every load (hazardous-goods transport is tracked) except ghost loads
(unregistered tankers, from the drift month on), invoices only the booked ones. Every random number is drawn for every load whatever the drift setting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.fuel_tax.world import SCENARIO, Fraud, Stations, month_starts
from pool.rng import component_rng
from pool.spec import SimConfig

GAS, DIESEL = 0, 1
SECOND_SUPPLIER_SHARE = 0.2
#: Out-of-town sources of off-book fuel (not in the Beijing registry).
OUTSIDE_SHIPPERS = (
    "河北冀鑫化工有限公司",
    "天津港昌石化贸易有限公司",
    "山东汇丰石化物流有限公司",
    "河北廊坊顺通油品有限公司",
)


@dataclass
class Loads:
    """One entry per tanker load (arrays of equal length)."""

    station: np.ndarray
    month: np.ndarray
    product: np.ndarray  # GAS or DIESEL
    grade: np.ndarray  # 0: 92, 1: 95, 2: 98 (gasoline only)
    litres: np.ndarray
    shipped_at: np.ndarray  # datetime64[s]
    supplier: np.ndarray  # supplier index, -1 for an outside shipper
    outside: np.ndarray  # index into OUTSIDE_SHIPPERS (used when supplier == -1)
    off_book: np.ndarray  # no invoice
    renamed: np.ndarray  # invoiced under a non-oil product name
    ghost: np.ndarray  # unregistered tanker: neither waybill nor invoice (drift only)
    invoice_delay: np.ndarray  # days from delivery to invoice


def delivered_litres(
    config: SimConfig, stations: Stations, gas: np.ndarray, diesel: np.ndarray
) -> np.ndarray:
    """Litres delivered per station, month and product (n x months x 2).

    Deliveries follow sales, times the chain transfer factor, with a little stock movement.
    """
    rng = component_rng(config.seed, SCENARIO, "delivered")
    sold = np.stack([gas, diesel], axis=2)
    stock = rng.normal(1.0, 0.03, sold.shape)
    return sold * stations.transfer_factor[:, None, None] * stock


def _expand(delivered: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split each month's litres into tanker loads of 18-30 m3 (a station uses one tanker size)."""
    n, months, _ = map(int, delivered.shape)
    size = rng.uniform(18_000, 30_000, n)
    count = np.where(delivered > 0, np.ceil(delivered / size[:, None, None]), 0)
    count = count.astype(np.int64).ravel()
    cell = np.repeat(np.arange(count.size), count)
    per_load = (delivered.ravel() / np.maximum(count, 1))[cell]
    litres = np.round(per_load * rng.uniform(0.97, 1.03, cell.size), -1)
    return cell, litres


def make_loads(config: SimConfig, stations: Stations, fraud: Fraud, delivered: np.ndarray) -> Loads:
    """Every tanker load of the horizon, with who shipped it and whether it was booked."""
    rng = component_rng(config.seed, SCENARIO, "loads")
    n, months, _ = delivered.shape
    cell, litres = _expand(delivered, rng)
    station, month, product = cell // (months * 2), (cell // 2) % months, cell % 2
    size = cell.size
    starts = month_starts(config)
    days = starts.days_in_month.to_numpy()[month]
    day = np.floor(rng.random(size) * days).astype(np.int64)
    seconds = rng.integers(5 * 3600, 22 * 3600, size)
    base = starts.to_numpy().astype("datetime64[s]")[month]
    shipped = base + (day * 86400 + seconds).astype("timedelta64[s]")
    u_off, u_ren, u_sec = rng.random(size), rng.random(size), rng.random(size)
    grade = np.searchsorted([0.6, 0.95], rng.random(size))
    outside = rng.integers(0, len(OUTSIDE_SHIPPERS), size)
    invoice_delay = rng.integers(0, 7, size)
    u_ghost = rng.random(size)
    active = fraud.old_ways(month, station)
    off_book = active & (u_off < fraud.offbook_share[station])
    renamed = active & ~off_book & (u_ren < fraud.rename_share[station])
    ghost = fraud.ghosting(month, station) & (u_ghost < fraud.ghost_share[station])
    supplier = np.where(
        u_sec < SECOND_SUPPLIER_SHARE,
        stations.second_supplier[station],
        stations.main_supplier[station],
    )
    crooked = fraud.crooked_supplier[station]
    supplier = np.where(off_book & (crooked >= 0), crooked, supplier)
    supplier = np.where(off_book & (crooked < 0), -1, supplier)
    return Loads(
        station,
        month,
        product,
        np.where(product == GAS, grade, -1),
        litres,
        shipped,
        supplier,
        outside,
        off_book,
        renamed,
        ghost,
        invoice_delay,
    )
