"""What each station declares to the tax bureau, and what it evades, per month.

Honest stations declare what they sold (to within metering noise). Evaders keep part of their
sales off the declaration: cash and personal QR-code takings (``cash_share``), the fuel bought
off the books (``offbook_share``) and, for renaming, the fuel invoiced as a chemical product,
which they declare as "other goods" so no consumption tax is due. With drift, evaders who take
ghost deliveries (``_fuel_world.adapt``) declare only the fuel that came with a waybill.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.fuel_tax.world import SCENARIO, Fraud
from pool.rng import component_rng
from pool.spec import SimConfig

VAT_RATE = 0.13
CONSUMPTION_TAX = (1.52, 1.20)  # yuan per litre: gasoline, diesel


@dataclass
class Declared:
    """Per station and month (n x months) arrays."""

    gas: np.ndarray
    diesel: np.ndarray
    fuel_revenue: np.ndarray  # yuan excl. VAT
    other_revenue: np.ndarray  # yuan excl. VAT (shop goods, and renamed fuel)
    consumption_tax: np.ndarray
    active: np.ndarray  # evading this month
    evaded_vat: np.ndarray
    evaded_consumption: np.ndarray


def monthly_shares(
    config: SimConfig, fraud: Fraud
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Declared, off-book, renamed and ghost shares per station and month, and the active mask
    (evading in any way that month)."""
    m, s = np.arange(config.months)[None, :], np.arange(len(fraud.pattern))[:, None]
    old, ghosting = fraud.old_ways(m, s), fraud.ghosting(m, s)
    cash = np.where(old, fraud.cash_share[:, None], 1.0)
    offbook = np.where(old, fraud.offbook_share[:, None], 0.0)
    rename = np.where(old, fraud.rename_share[:, None], 0.0)
    ghost = np.where(ghosting, fraud.ghost_share[:, None], 0.0)
    return cash, offbook, rename, ghost, old | ghosting


def declare(
    config: SimConfig,
    fraud: Fraud,
    sold: tuple[np.ndarray, np.ndarray],
    retail: tuple[np.ndarray, np.ndarray],
) -> Declared:
    """Declared litres, revenue and taxes, and the evaded taxes, per station and month."""
    rng = component_rng(config.seed, SCENARIO, "declared")
    gas, diesel = sold
    n, months = map(int, gas.shape)
    metering = rng.normal(1.0, 0.01, (2, n, months))
    shop_share = rng.uniform(0.02, 0.08, n)[:, None]
    cash, offbook, rename, ghost, active = monthly_shares(config, fraud)
    booked = cash * (1 - offbook) * (1 - ghost)
    net_price = [p[None, :] / (1 + VAT_RATE) for p in retail]
    decl = [s * booked * (1 - rename) * metering[i] for i, s in enumerate((gas, diesel))]
    renamed = [s * booked * rename for s in (gas, diesel)]
    fuel_rev = decl[0] * net_price[0] + decl[1] * net_price[1]
    renamed_rev = renamed[0] * net_price[0] + renamed[1] * net_price[1]
    true_rev = gas * net_price[0] + diesel * net_price[1]
    other = true_rev * shop_share + renamed_rev
    ctax = CONSUMPTION_TAX[0] * decl[0] + CONSUMPTION_TAX[1] * decl[1]
    hidden = [s * (1 - booked) for s in (gas, diesel)]
    # fuel bought without an invoice (off-book or by ghost tanker) carries no input VAT either:
    # only the margin's VAT is lost on it
    margin = 0.12
    unbilled = cash * (1 - (1 - offbook) * (1 - ghost))
    hidden_offbook = [s * unbilled for s in (gas, diesel)]
    evaded_vat = VAT_RATE * sum(
        (h - o) * p + o * p * margin
        for h, o, p in zip(hidden, hidden_offbook, net_price, strict=True)
    )
    evaded_ct = sum(r * (h + x) for r, h, x in zip(CONSUMPTION_TAX, hidden, renamed, strict=True))
    evaded_vat = np.where(active, evaded_vat, 0.0)
    evaded_ct = np.where(active, evaded_ct, 0.0)
    return Declared(decl[0], decl[1], fuel_rev, other, ctax, active, evaded_vat, evaded_ct)
