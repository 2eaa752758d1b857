"""A daily card-level model over raw payment transactions (the Fraud-Detection-Handbook's shape).

Every card is scored every day on its last seven days of transactions; a card flagged on day T
is verified days later, and what verification showed about T is the label of (card, T). The
cadence says how the spine trains and judges it: stack the last 7 daily snapshots, wait 7 days
for feedback, judge the next 7, with card precision at capacity reported per day.

Found through ``SUPERVISION_MODELS=examples/card_daily/model.py``; its exports come from
``make_exports.py`` (a stand-in for a bank's transaction file).
"""

from collections.abc import Mapping
from datetime import timedelta

import ibis
import ibis.expr.types as ir

from features.common import ratio
from features.model import AmountAtStake, Cadence, Policy, SupervisionModel
from features.spec import BuildContext, FeatureSpec
from pool.origins import FileOrigin
from pool.schemas import history_source
from pool.spec import ColumnSpec, SourceSpec

NAME = "card_daily"
DAYS = 7

CARDS = SourceSpec(
    scenario=NAME,
    agency="bank (via the financial regulator)",
    table="cards",
    description="payment cards",
    keys=("card_id",),
    date_column="issued_on",
    origin=FileOrigin(path="cards.csv"),
    columns=(
        ColumnSpec("card_id", "string", "card id", checks={"unique": True}),
        ColumnSpec("district", "string", "district of the card holder's branch"),
        ColumnSpec("issued_on", "date", "issue date"),
    ),
)
TRANSACTIONS = SourceSpec(
    scenario=NAME,
    agency="bank (via the financial regulator)",
    table="transactions",
    description="card payments",
    keys=("tx_id",),
    date_column="tx_date",
    origin=FileOrigin(path="transactions.csv"),
    columns=(
        ColumnSpec("tx_id", "string", "transaction id", checks={"unique": True}),
        ColumnSpec("card_id", "string", "card id"),
        ColumnSpec("tx_date", "date", "day of the payment"),
        ColumnSpec("amount", "float64", "amount", unit="yuan", checks={"min": 0}),
        ColumnSpec("risky_merchant", "bool", "merchant on the risk list"),
    ),
)
HISTORY = history_source(NAME, origin=FileOrigin(path="verifications.csv"))


def _last_days(t: ir.Table, ctx: BuildContext) -> ir.Table:
    """Payments of the ``DAYS`` days up to the as-of date (with no date: up to the last one)."""
    if ctx.as_of is None:
        return t.filter(t.tx_date > t.tx_date.max() - ibis.interval(days=DAYS))
    return t.filter(t.tx_date > ibis.literal(ctx.as_of - timedelta(days=DAYS)))


def build(sources: Mapping[str, ir.Table], ctx: BuildContext) -> ir.Table:
    """Per card, its last seven days as of T (every source is already cut at T)."""
    t, c = sources["transactions"], sources["cards"]
    recent = _last_days(t, ctx)
    per = recent.group_by("card_id").aggregate(
        n_tx=recent.count(),
        total=recent.amount.sum(),
        biggest=recent.amount.max(),
        risky=recent.risky_merchant.cast("int64").sum(),
    )
    j = c.left_join(per, c.card_id == per.card_id)
    return j.select(
        entity_id=j.card_id,
        district=j.district,
        n_tx_7d=j.n_tx.fill_null(0).cast("float64"),
        amount_7d=j.total.fill_null(0.0),
        risky_share_7d=ratio(j.risky, j.n_tx),
        biggest_to_mean=ratio(j.biggest * j.n_tx, j.total),
    )


def payments_at_risk(
    sources: Mapping[str, ir.Table], ctx: BuildContext, rates: Mapping[str, float]
) -> ir.Table:
    """Per card: what it paid in the last seven days (what a stolen card's holder would lose)."""
    t, c = sources["transactions"], sources["cards"]
    recent = _last_days(t, ctx)
    per = recent.group_by("card_id").aggregate(total=recent.amount.sum())
    j = c.left_join(per, c.card_id == per.card_id)
    return j.select(entity_id=j.card_id, amount=j.total.fill_null(0.0))


MODEL = SupervisionModel(
    name=NAME,
    entity="payment card",
    key_column="card_id",
    title="Card fraud, scored daily",
    sources=(CARDS, TRANSACTIONS, HISTORY),
    features=(
        FeatureSpec(
            "n_tx_7d",
            "payments in the last 7 days",
            "payments",
            "{value:.0f} payments in 7 days; district median {peer:.0f}",
            "high",
            "district",
            reasons={"zh": "近7日交易{value:.0f}笔；本区中位数{peer:.0f}笔"},
        ),
        FeatureSpec(
            "amount_7d",
            "amount paid in the last 7 days",
            "yuan",
            "{value:,.0f} yuan in 7 days; district median {peer:,.0f}",
            "high",
            "district",
            reasons={"zh": "近7日交易金额{value:yuan}；本区中位数{peer:yuan}"},
        ),
        FeatureSpec(
            "risky_share_7d",
            "share of payments at risk-listed merchants",
            "share",
            "{value:.0%} of payments at risk-listed merchants",
            "high",
            reasons={"zh": "{value:.0%}的交易发生在风险商户"},
        ),
        FeatureSpec(
            "biggest_to_mean",
            "largest payment / mean payment (7 days)",
            "ratio",
            "largest payment is {value:.1f} times the mean",
            "high",
            reasons={"zh": "单笔最大交易为平均值的{value:.1f}倍"},
        ),
    ),
    build=build,
    cadence=Cadence("day", window=7, delay=7, horizon=7),
    policy=Policy(k=5, metric="average_precision", floor=0.2, capacity=2),
    amount=AmountAtStake(
        unit="yuan",
        typical=2e3,
        estimate=payments_at_risk,
        description="payments at risk: what the card paid in the last 7 days",
        texts={"zh": "涉险金额：该卡近7日的支付总额"},
        unit_texts={"zh": "元"},
    ),
)
