"""Registry, tax and housing tables of the loan scenario, built from the per-loan draws."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.mortgage_loans.contacts import Purchases
from models.mortgage_loans.market import BANK_WEIGHTS, BANKS
from models.mortgage_loans.parties import Collateral, Companies, Households
from models.mortgage_loans.world import Loans, LoanWorld
from pool import defects
from pool.sim.blanks import BLANK
from pool.sim.people import days_to_dates, weighted_choice

SHELL_MISSING = 0.25  # share of a shell's quarters never filed at all
VAT_RATE = 0.01  # small-scale taxpayers' VAT rate in 2023-2027


def _ids(prefix: str, n: int) -> pd.Series:
    """Sequential record ids with a prefix and nine digits."""
    return prefix + pd.Series(np.arange(1, n + 1) + 10**9).astype(str).str[1:]


def shareholder_table(
    rng: np.random.Generator, comp: Companies, hh: Households, end: int
) -> pd.DataFrame:
    """Share transfers to the borrowers (a shell's sale for about 20,000 yuan among them).

    Recording delays are drawn for every company before filtering and ids follow the loans, so
    a transfer that drift adds or moves shifts no other record.
    """
    n = len(comp.code)
    change = days_to_dates(np.maximum(comp.transfer_day, 0))
    recorded = defects.filing_dates(
        change, rng, late_rate=0.05, very_late_rate=0.01, deadline_days=20
    )
    table = pd.DataFrame(
        {
            "change_id": _ids("SC", n),
            "credit_code": comp.code,
            "change_date": change,
            "from_holder_id": comp.seller_id,
            "to_holder_id": hh.borrower_id,
            "share_pct": comp.share_pct,
            "consideration_yuan": comp.consideration,
            "recorded_on": recorded,
        }
    )
    keep = (comp.transfer_day >= 0) & (comp.transfer_day < end)
    return table.loc[keep].sort_values("change_date", kind="stable").reset_index(drop=True)


def quarter_ends(start: int, end: int) -> np.ndarray:
    """Epoch days of the quarter ends from a year before ``start`` up to ``end``."""
    first = np.datetime64(int(start), "D").astype("datetime64[M]")
    first = first - (first.astype("int64") % 3) - 12
    months = np.arange(first, np.datetime64(int(end), "D").astype("datetime64[M]") + 1, 3)
    ends = (months + 3).astype("datetime64[D]").astype("int64") - 1
    return ends[ends < end]


def tax_table(rng: np.random.Generator, comp: Companies, start: int, end: int) -> pd.DataFrame:
    """Quarterly filings from founding (or a year before the window) to the extract day.

    Genuine companies declare revenue around their typical level (ramping up in their first
    year); shells file zero or nothing. Defects: missing quarters, late and amended filings.
    Everything is drawn on the full company-by-quarter grid and filtered last, so a founding date
    moved by drift changes that company's rows only.
    """
    qe = quarter_ends(start, end)
    n, q = len(comp.code), len(qe)
    company = np.repeat(np.arange(n), q)
    quarter = np.tile(np.arange(q), n)
    founded_q = np.searchsorted(qe, comp.founded, side="left")
    since = quarter - founded_q[company]
    ramp = np.where(comp.young_ramp[company], np.minimum(1.0, (since + 1) / 3.0), 1.0)
    noise = rng.uniform(0.6, 1.4, n * q)
    revenue = np.round(comp.quarterly_revenue[company] * noise * ramp, 2)
    shell_gap = (comp.quarterly_revenue[company] == 0) & (rng.random(n * q) < SHELL_MISSING)
    qdates = days_to_dates(qe[quarter])
    table = pd.DataFrame(
        {
            "credit_code": comp.code[company],
            "quarter_end": qdates,
            "revenue_yuan": revenue,
            "vat_yuan": np.round(revenue * VAT_RATE, 2),
            "filed_on": defects.filing_dates(qdates, rng, late_rate=0.06, very_late_rate=0.015),
            "_keep": (since >= 0) & ~shell_gap,
        }
    )
    table = defects.drop_rows(table, 0.03, rng)
    table = defects.duplicate_rows(
        table, 0.02, rng, amend_columns=("revenue_yuan", "vat_yuan"), filed_column="filed_on"
    )
    cutoff = days_to_dates(np.array([end])).iloc[0]
    keep = table.pop("_keep").to_numpy(bool) & (table["filed_on"] < cutoff).to_numpy()
    return table.loc[keep].reset_index(drop=True)


def buyer_of(buys: Purchases, hh: Households) -> tuple[np.ndarray, np.ndarray]:
    """ID number and name of the buyer of each purchase."""
    i, kind = buys.loan, buys.buyer_kind
    ids = np.select(
        [kind == 0, kind == 1], [hh.borrower_id[i], hh.spouse_id[i]], hh.ex_spouse_id[i]
    )
    names = np.select(
        [kind == 0, kind == 1], [hh.borrower_name[i], hh.spouse_name[i]], hh.ex_spouse_name[i]
    )
    return ids, names


def transaction_table(
    rng: np.random.Generator, loans: Loans, hh: Households, col: Collateral, buys: Purchases
) -> pd.DataFrame:
    """Home sales: each collateral's past purchase and the households' purchases in the window."""
    buyer, buyer_name = buyer_of(buys, hh)
    other = np.select(
        [buys.buyer_kind == 0, buys.buyer_kind == 1],
        [hh.spouse_id[buys.loan], hh.borrower_id[buys.loan]],
        BLANK,
    )
    frame = pd.DataFrame(
        {
            "property_id": np.concatenate([col.property_id, buys.property_id]),
            "district": np.concatenate([col.district, buys.district]),
            "area_sqm": np.concatenate([col.area, buys.area]),
            "buyer_id": np.concatenate([hh.borrower_id, buyer]),
            "buyer_name": np.concatenate([hh.borrower_name, buyer_name]),
            "buyer_spouse_id": np.concatenate([hh.spouse_id, other]),
            "price_yuan": np.concatenate([col.price, buys.price]),
            "contract_on": days_to_dates(np.concatenate([col.bought_on, buys.contract_on])),
        }
    )
    frame["buyer_id"], _ = defects.vary_codes(frame["buyer_id"].to_numpy(object), 0.02, rng)
    frame["registered_on"] = defects.filing_dates(
        frame["contract_on"], rng, late_rate=0.05, very_late_rate=0.01, deadline_days=30
    )
    frame = frame.sort_values("contract_on", kind="stable").reset_index(drop=True)
    frame.insert(0, "transaction_id", _ids("TX", len(frame)))
    return frame


def mortgage_table(
    rng: np.random.Generator,
    loans: Loans,
    hh: Households,
    world: LoanWorld,
    col: Collateral,
    buys: Purchases,
    end: int,
) -> pd.DataFrame:
    """Mortgages: the business loan on each collateral, old home loans, new purchases' loans."""
    n = len(loans.pattern)
    bank = world.branch_bank[loans.branch]
    old = col.had_home_loan
    old_reg = col.bought_on + rng.integers(10, 41, n)
    new = buys.home_loan
    new_reg = buys.contract_on + rng.integers(20, 61, len(new))
    new_bank = BANKS[weighted_choice(len(new), BANK_WEIGHTS, rng)]
    buyer, _ = buyer_of(buys, hh)
    frame = pd.DataFrame(
        {
            "property_id": np.concatenate(
                [col.property_id, col.property_id[old], buys.property_id[new]]
            ),
            "mortgagee_bank": np.concatenate(
                [bank, BANKS[rng.integers(0, len(BANKS), n)][old], new_bank[new]]
            ),
            "mortgagor_id": np.concatenate([hh.borrower_id, hh.borrower_id[old], buyer[new]]),
            "kind": np.repeat(
                np.array(["business_loan", "home_loan", "home_loan"], dtype=object),
                [n, old.sum(), new.sum()],
            ),
            "secured_amount_yuan": np.concatenate(
                [col.amount, col.home_loan_amount[old], buys.home_loan_amount[new]]
            ),
            "reg_day": np.concatenate(
                [loans.day - rng.integers(0, 8, n), old_reg[old], new_reg[new]]
            ),
            "rel_day": np.concatenate(
                [np.full(n, -1), col.home_loan_released[old], np.full(new.sum(), -1)]
            ),
        }
    )
    frame = frame.loc[frame["reg_day"] < end].sort_values("reg_day", kind="stable")
    rel = frame.pop("rel_day").to_numpy()
    frame["registered_on"] = days_to_dates(frame.pop("reg_day").to_numpy()).to_numpy()
    frame["released_on"] = days_to_dates(np.maximum(rel, 0)).where(rel >= 0).to_numpy()
    frame = frame.reset_index(drop=True)
    frame.insert(0, "registration_id", _ids("MR", len(frame)))
    return frame


__all__ = ["shareholder_table", "tax_table", "transaction_table", "mortgage_table"]
