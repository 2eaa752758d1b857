"""Scenario ``mortgage_loans``: business loans on homes illegally used to buy homes.

Entity: a business loan secured on a residential property (``loan_id``); about 20,000 at scale 1
over the window. Sources: bank loan records and application contacts (financial regulator), the
company registry and its shareholder changes (market regulation), quarterly tax filings, and
property transactions and mortgage registrations (housing). Patterns are described in
``_loan_world``; columns in ``_loan_sources``.

Drift: from ``config.drift_month`` intermediaries rotate phones and agents (network signals fade)
and use shells they have held for six to eighteen months (the young-company signal fades).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.mortgage_loans.contacts import (
    Contacts,
    Purchases,
    draw_contacts,
    draw_purchases,
)
from models.mortgage_loans.history import loan_history
from models.mortgage_loans.market import market_value
from models.mortgage_loans.parties import (
    Collateral,
    Companies,
    Households,
    draw_collateral,
    draw_companies,
    draw_households,
)
from models.mortgage_loans.sources import PURPOSES, SCENARIO, SOURCES
from models.mortgage_loans.tables import (
    mortgage_table,
    shareholder_table,
    tax_table,
    transaction_table,
)
from models.mortgage_loans.world import (
    BRIDGE,
    BUY_AFTER,
    NONE,
    PATTERNS,
    Loans,
    LoanWorld,
    draw_loans,
    draw_world,
)
from pool import defects
from pool.rng import component_rng
from pool.sim.oddity import join_flags
from pool.sim.people import add_months, check_config, days_to_dates, to_days
from pool.spec import ScenarioPool, SimConfig

__all__ = ["SOURCES", "PATTERNS", "simulate"]

ENTITY = "business loan secured on a home (loan_id)"
_STREAMS = (
    "world",
    "loans",
    "households",
    "companies",
    "collateral",
    "purchases",
    "contacts",
    "tables",
    "defects",
    "history",
)
DETECT_PROB = {"shell_bridge": 0.85, "shell_buy_after": 0.85, "subtle_spouse": 0.6}


def simulate(config: SimConfig) -> ScenarioPool:
    """Simulate the loan scenario: agency tables, verification history and truth."""
    check_config(config, SCENARIO)
    rng = {name: component_rng(config.seed, SCENARIO, name) for name in _STREAMS}
    start = to_days(config.start)
    bounds = add_months(np.full(config.months + 1, start), np.arange(config.months + 1))
    end = int(bounds[-1])
    world = draw_world(rng["world"], config.scale)
    loans = draw_loans(rng["loans"], world, max(200, round(20_000 * config.scale)), bounds)
    drifted = _drift_mask(loans, config)
    hh = draw_households(rng["households"], loans, start)
    comp = draw_companies(rng["companies"], loans, world, drifted, start)
    col = draw_collateral(rng["collateral"], loans, hh, world)
    buys = draw_purchases(rng["purchases"], loans, hh, end)
    contacts = draw_contacts(rng["contacts"], loans, hh, world, drifted)
    loan_table, masks = _loan_table(rng["defects"], world, loans, hh, comp, col)
    tables = {
        "loans": loan_table,
        "loan_applications": _application_table(loans, hh, contacts),
        "companies": _company_table(comp, hh),
        "shareholder_changes": shareholder_table(rng["tables"], comp, hh, end),
        "tax_filings": tax_table(rng["tables"], comp, start, end),
        "property_transactions": transaction_table(rng["defects"], loans, hh, col, buys),
        "mortgage_registrations": mortgage_table(rng["tables"], loans, hh, world, col, buys, end),
    }
    truth = _truth(loans, world, hh, comp, col, buys, contacts, drifted, masks, loan_table)
    last_day = days_to_dates(np.array([end - 1])).iloc[0]
    history = loan_history(rng["history"], tables, truth, config, last_day)
    return ScenarioPool(SCENARIO, ENTITY, tables, history, truth)


def _drift_mask(loans: Loans, config: SimConfig) -> np.ndarray:
    """Blatant-scheme loans granted from the drift month on (their fixers have adapted)."""
    if config.drift_month is None:
        return np.zeros(len(loans.pattern), dtype=bool)
    return np.isin(loans.pattern, (BRIDGE, BUY_AFTER)) & (loans.month >= config.drift_month)


def _loan_table(
    rng: np.random.Generator,
    world: LoanWorld,
    loans: Loans,
    hh: Households,
    comp: Companies,
    col: Collateral,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Bank loan records as reported, with typing defects; also the defect masks per loan."""
    n = len(loans.pattern)
    varied, id_kind = defects.vary_codes(hh.borrower_id, 0.02, rng)
    corrupted, bad = defects.corrupt_check_chars(
        hh.borrower_id, 0.004, rng, alphabet=defects.ID_CHECK_ALPHABET
    )
    bad = bad & (id_kind == "")
    code, code_kind = defects.vary_codes(comp.code, 0.02, rng)
    name, name_kind = defects.vary_names(comp.name, 0.05, rng)
    loan_date = days_to_dates(loans.day)
    table = pd.DataFrame(
        {
            "loan_id": "LN" + pd.Series(np.arange(1, n + 1) + 10**9).astype(str).str[1:],
            "bank": world.branch_bank[loans.branch],
            "branch_id": world.branch_id[loans.branch],
            "district": world.branch_district[loans.branch],
            "loan_officer_id": world.officer_id[loans.officer],
            "borrower_id": np.where(bad, corrupted, varied),
            "borrower_name": hh.borrower_name,
            "company_code": code,
            "company_name": name,
            "amount_yuan": col.amount,
            "term_months": loans.term.astype("int64"),
            "annual_rate": loans.rate,
            "loan_date": loan_date,
            "stated_purpose": np.asarray(PURPOSES, dtype=object)[loans.purpose],
            "collateral_property_id": col.property_id,
            "appraisal_value_yuan": col.appraisal,
            "appraisal_firm": col.appraiser,
            "reported_on": defects.filing_dates(
                loan_date, rng, late_rate=0.04, very_late_rate=0.01, deadline_days=10
            ),
        }
    )
    masks = {
        "id_format": id_kind != "",
        "bad_check_char": bad,
        "code_format": code_kind != "",
        "name_variant": name_kind != "",
    }
    return defects.duplicate_rows(table, 0.005, rng, filed_column="reported_on"), masks


def _application_table(loans: Loans, hh: Households, contacts: Contacts) -> pd.DataFrame:
    """Contact details on each application, one row per loan."""
    n = len(loans.pattern)
    return pd.DataFrame(
        {
            "loan_id": "LN" + pd.Series(np.arange(1, n + 1) + 10**9).astype(str).str[1:],
            "applied_on": days_to_dates(contacts.applied_on),
            "contact_phone": contacts.phone,
            "contact_address": contacts.address,
            "agent_name": contacts.agent_name,
            "agent_phone": contacts.agent_phone,
            "marital_status": hh.status,
            "spouse_id": hh.spouse_id,
            "spouse_name": hh.spouse_name,
        }
    )


def _company_table(comp: Companies, hh: Households) -> pd.DataFrame:
    """The registry's view of the borrowing companies (legal representative = the borrower)."""
    return (
        pd.DataFrame(
            {
                "credit_code": comp.code,
                "name": comp.name,
                "founded_on": days_to_dates(comp.founded),
                "registered_capital_yuan": comp.capital,
                "district": comp.district,
                "registered_address": comp.address,
                "industry": comp.industry,
                "legal_rep_id": hh.borrower_id,
            }
        )
        .sort_values("founded_on", kind="stable")
        .reset_index(drop=True)
    )


def _oddities(
    loans: Loans,
    hh: Households,
    comp: Companies,
    col: Collateral,
    buys: Purchases,
    contacts: Contacts,
    world: LoanWorld,
    masks: dict[str, np.ndarray],
) -> np.ndarray:
    """Innocent reasons an honest loan looks odd, "+"-joined ("none" if none)."""
    honest = loans.pattern == NONE
    near = np.zeros(len(honest), dtype=bool)
    close = np.abs(buys.contract_on - loans.day[buys.loan]) <= 90
    near[buys.loan[close]] = True
    fair = market_value(col.district, col.area, loans.day)
    flags = {
        "young_company": honest & (loans.day - comp.founded < 183),
        "zero_revenue": honest & (comp.quarterly_revenue == 0),
        "household_purchase_90d": honest & near,
        "high_appraisal": honest & (col.appraisal > 1.1 * fair),
        "recent_collateral": honest & (loans.day - col.bought_on <= 730),
        "shared_accountant_phone": honest & np.isin(contacts.phone, world.accountant_phone),
        "broker": honest & (contacts.agent_name != None),  # noqa: E711
        "incubator_address": honest & np.isin(comp.address, world.incubator_address),
        **masks,
    }
    return join_flags(flags)


def _truth(
    loans: Loans,
    world: LoanWorld,
    hh: Households,
    comp: Companies,
    col: Collateral,
    buys: Purchases,
    contacts: Contacts,
    drifted: np.ndarray,
    masks: dict[str, np.ndarray],
    loan_table: pd.DataFrame,
) -> pd.DataFrame:
    """One row per loan: planted pattern, ring, drift, innocent oddities, misused amount."""
    names = np.asarray(PATTERNS, dtype=object)[loans.pattern]
    fraud = loans.pattern != NONE
    ring = pd.Series("ring_" + pd.Series(loans.ring).astype(str).str.zfill(2), dtype=object)
    return pd.DataFrame(
        {
            "entity_id": loan_table["loan_id"].drop_duplicates().to_numpy(object),
            "district": world.branch_district[loans.branch],
            "is_fraud": fraud,
            "pattern": names,
            "ring_id": ring.where(loans.ring >= 0, None),
            "drifted": drifted,
            "oddities": _oddities(loans, hh, comp, col, buys, contacts, world, masks),
            "loan_date": days_to_dates(loans.day),
            "detect_prob": pd.Series(names).map(DETECT_PROB).fillna(0.0).to_numpy(),
            "misused_yuan": np.where(fraud, col.amount, 0.0),
        }
    )
