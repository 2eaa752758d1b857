"""``mortgage_loans``' evidence view: the loan, the homes bought by the borrower or spouse, the
borrower's share purchases in the borrowing company and the collateral's own sale, on one time
line (each event with its amount: loan, price; a share transfer has none, shown as 0)."""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from features.common import latest_per_key
from features.evidence import EvidenceView, Series, series_rows
from features.spec import BuildContext


def loan_timeline(sources: Mapping[str, ir.Table], ctx: BuildContext) -> ir.Table:
    """Per loan: dated events with their amounts."""
    loans = latest_per_key(sources["loans"], "loan_id", "reported_on")
    apps = latest_per_key(sources["loan_applications"], "loan_id", "applied_on")
    trans, shares = sources["property_transactions"], sources["shareholder_changes"]
    lo = loans.select(
        "loan_id",
        "borrower_id",
        "company_code",
        "collateral_property_id",
        "loan_date",
        "amount_yuan",
    )
    lo = lo.left_join(
        apps.select(a_loan="loan_id", spouse="spouse_id"), lo.loan_id == apps.loan_id
    ).drop("a_loan")
    t = trans.select("buyer_id", "buyer_spouse_id", "property_id", "price_yuan", "contract_on")
    who = (
        (t.buyer_id == lo.borrower_id)
        | (t.buyer_spouse_id == lo.borrower_id)
        | (lo.spouse.notnull() & (t.buyer_id == lo.spouse))
    )
    bought = lo.join(t, who)
    pledged = lo.join(t, lo.collateral_property_id == t.property_id)
    s = shares.select("credit_code", "change_date", "to_holder_id")
    took = lo.join(s, (s.credit_code == lo.company_code) & (s.to_holder_id == lo.borrower_id))
    return ibis.union(
        series_rows(lo, lo.loan_id, lo.loan_date, "loan", lo.amount_yuan),
        series_rows(bought, bought.loan_id, bought.contract_on, "home_purchase", bought.price_yuan),
        series_rows(
            pledged, pledged.loan_id, pledged.contract_on, "collateral_sale", pledged.price_yuan
        ),
        series_rows(took, took.loan_id, took.change_date, "share_transfer", ibis.literal(0.0)),
    )


EVIDENCE = EvidenceView(
    build=loan_timeline,
    kind="events",
    series=(
        Series("loan", {"zh": "经营贷发放", "en": "business loan granted"}, "yuan"),
        Series(
            "home_purchase",
            {"zh": "借款人或配偶购房", "en": "home bought by borrower or spouse"},
            "yuan",
        ),
        Series("collateral_sale", {"zh": "抵押房产成交", "en": "collateral's sale"}, "yuan"),
        Series("share_transfer", {"zh": "借款人受让企业股权", "en": "borrower acquired shares"}),
    ),
    peers={
        "loan_to_revenue": {"zh": "贷款额/上年收入", "en": "loan / revenue of the year before"},
        "appraisal_to_price": {"zh": "评估价/成交价", "en": "appraisal / sale price"},
    },
    texts={"zh": "贷款、购房与股权变更时间线", "en": "Loan, home purchases and share transfers"},
)
