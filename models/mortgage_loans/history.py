"""Past leads on business loans: what the two crude rules of the past flagged.

"Home purchase by the borrower within 90 days of the loan" (an exact ID match, so purchases in a
spouse's name or with an ID typed another way slip through) and "company younger than six
months" (which mostly flags genuine young businesses). Tip-offs come from ``pool.history``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pool.history import HistoryParams, verification_history
from pool.spec import SimConfig

RULE_PURCHASE = "borrower_home_purchase_90d"
RULE_YOUNG = "company_younger_6m"
RUN_LAG_DAYS = 5


def _month_run(when: pd.Series) -> pd.Series:
    """The monthly run after ``when``: a few days after the month closed."""
    return when.dt.to_period("M").dt.end_time.dt.normalize() + pd.Timedelta(days=RUN_LAG_DAYS)


def purchase_rule(loans: pd.DataFrame, transactions: pd.DataFrame) -> pd.DataFrame:
    """Loans whose borrower (ID exactly as typed) bought a home within 90 days either side."""
    first = loans.drop_duplicates("loan_id", keep="first")
    hits = first[["loan_id", "borrower_id", "loan_date", "reported_on"]].merge(
        transactions[["buyer_id", "contract_on", "registered_on"]],
        left_on="borrower_id",
        right_on="buyer_id",
    )
    near = (hits["contract_on"] - hits["loan_date"]).dt.days.abs() <= 90
    hits = hits.loc[near]
    seen = hits[["registered_on", "reported_on"]].max(axis=1)
    flags = pd.DataFrame(
        {"entity_id": hits["loan_id"].to_numpy(object), "flagged_on": _month_run(seen).to_numpy()}
    )
    flags = flags.sort_values("flagged_on", kind="stable").drop_duplicates("entity_id")
    return flags.assign(rule=RULE_PURCHASE)


def young_company_rule(loans: pd.DataFrame, companies: pd.DataFrame) -> pd.DataFrame:
    """Loans to a company (credit code exactly as typed) founded less than six months before."""
    first = loans.drop_duplicates("loan_id", keep="first")
    founded = first["company_code"].map(companies.set_index("credit_code")["founded_on"])
    young = (first["loan_date"] - founded).dt.days < 183
    return pd.DataFrame(
        {
            "entity_id": first["loan_id"].to_numpy(object),
            "flagged_on": _month_run(first["reported_on"]).to_numpy(),
            "rule": RULE_YOUNG,
        }
    ).loc[young.to_numpy()]


def loan_history(
    rng: np.random.Generator,
    tables: dict[str, pd.DataFrame],
    truth: pd.DataFrame,
    config: SimConfig,
    end: pd.Timestamp,
) -> pd.DataFrame:
    """Closed leads from the two rules and tip-offs (see ``pool.history``)."""
    flags = pd.concat(
        [
            purchase_rule(tables["loans"], tables["property_transactions"]),
            young_company_rule(tables["loans"], tables["companies"]),
        ],
        ignore_index=True,
    )
    params = HistoryParams(capacity=max(3, round(10 * config.scale)))
    return verification_history(
        flags,
        truth,
        rng,
        start=config.start,
        end=end.date(),
        prefix="ML",
        params=params,
        amount_column="misused_yuan",
    )
